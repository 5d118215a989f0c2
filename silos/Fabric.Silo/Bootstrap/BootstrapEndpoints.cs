using Fabric.Contracts.Identity;
using Fabric.Hosting;
using Fabric.Silo.Apis;
using Fabric.Silo.Identity;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace Fabric.Silo.Bootstrap;

/// <summary>
/// The two requests of edge attestation (<see cref="EdgeBootstrap"/>): join with a token, renew with the current
/// SVID. The CSR is checked and signed before the token is spent, so a malformed request never burns one; the
/// SVID is handed out only once the registry admitted it. Refusals are 403 problems naming a stable reason.
/// </summary>
internal sealed partial class BootstrapEndpoints(
    IGrainFactory grains,
    CaStore store,
    NodeIdentity identity,
    LocalJoinFile localJoinFile,
    IOptions<TrustDomainOptions> trustDomain,
    IOptions<BootstrapOptions> options,
    TimeProvider time,
    ILogger<BootstrapEndpoints> logger)
{
    private string TrustDomain => trustDomain.Value.TrustDomain;

    public async Task<Results<Ok<SvidGrant>, ValidationProblem, ProblemHttpResult>> JoinAsync(HttpContext context)
    {
        var (body, invalid, tooLarge) = await ApiBody.ReadAsync<JoinRequest>(context);
        if (tooLarge is not null)
        {
            return tooLarge;
        }
        if (invalid is not null)
        {
            return invalid;
        }
        if (!JoinTokens.TryParse(body!.Token, out var tokenId, out var secret))
        {
            return ApiBody.Field("token", $"a join token has the form {JoinTokens.Prefix}.<16 hex>.<43 base64url>");
        }
        if (!FabricNodes.IsValidName(body.EdgeName))
        {
            return ApiBody.Field("edgeName", $"an edge name is lower-case letters, digits and '-', at most {FabricNodes.MaxNameLength}");
        }
        var id = FabricNodes.Id(TrustDomain, FabricRole.Edge, body.EdgeName!);
        return await GrantAsync(id, body.Csr, body.DnsNames, body.IpAddresses, async signed =>
        {
            var admission = await grains.Edges().RedeemAsync(tokenId, JoinTokens.HashSecret(secret), body.EdgeName!, signed.ExpiresAt);
            if (admission == EdgeAdmission.Admitted)
            {
                await localJoinFile.OnRedeemedAsync(tokenId);
            }
            return admission;
        });
    }

    /// <summary>This trust domain's bundle in the SPIFFE format (JWK Set, <c>spiffe_sequence</c>, <c>spiffe_refresh_hint</c>), public.</summary>
    public async Task<ContentHttpResult> SpiffeBundleAsync()
    {
        var set = await store.GetAsync(TrustDomain);
        var roots = SvidPem.LoadCertificates(set.BundlePem).Cast<System.Security.Cryptography.X509Certificates.X509Certificate2>().ToList();
        var bundle = new SpiffeBundle(TrustDomain, set.Sequence, options.Value.FederationRefreshHint, roots, set.JwtKeys);
        return TypedResults.Text(bundle.ToJson(), "application/json");
    }

    public async Task<ContentHttpResult> Bundle() =>
        TypedResults.Text((await store.GetAsync(TrustDomain)).BundlePem, "application/x-pem-file");

    public async Task<Results<Ok<SvidGrant>, ValidationProblem, ProblemHttpResult>> RenewAsync(HttpContext context)
    {
        var certificate = context.Connection.ClientCertificate;
        // A missing certificate is an invalid one: the validator says so rather than throwing.
        var validation = X509SvidValidator.Validate(certificate!, null, identity.Bundles, time.GetUtcNow());
        if (!validation.IsValid || !FabricNodes.TryGetName(validation.Id!, TrustDomain, FabricRole.Edge, out var edgeName))
        {
            LogRefused(logger, "renew", BootstrapReasons.NotAnEdge);
            return Refuse(BootstrapReasons.NotAnEdge, "renewal needs the edge's current SVID as the client certificate: " + (validation.Error ?? $"'{validation.Id}' is not an edge of '{TrustDomain}'"));
        }
        var (body, invalid, tooLarge) = await ApiBody.ReadAsync<RenewRequest>(context);
        if (tooLarge is not null)
        {
            return tooLarge;
        }
        if (invalid is not null)
        {
            return invalid;
        }
        return await GrantAsync(validation.Id!, body!.Csr, body.DnsNames, body.IpAddresses,
            async signed => await grains.Edges().RenewAsync(edgeName, signed.ExpiresAt));
    }

    private async Task<Results<Ok<SvidGrant>, ValidationProblem, ProblemHttpResult>> GrantAsync(
        SpiffeId id, string? csr, IReadOnlyList<string>? dnsNames, IReadOnlyList<string>? ipAddresses,
        Func<SignedSvid, Task<EdgeAdmission>> admit)
    {
        if (string.IsNullOrWhiteSpace(csr))
        {
            return ApiBody.Field("csr", "a PEM PKCS#10 certificate signing request for the edge's own key is required");
        }
        SignedSvid signed;
        var ca = await store.GetOrCreateAsync(TrustDomain);
        try
        {
            signed = SvidIssuer.SignCsr(ca, new SvidRequest(id.ToString(), options.Value.EdgeSvidTtl, dnsNames ?? [], ipAddresses ?? []), csr, time.GetUtcNow());
        }
        catch (ArgumentException ex)
        {
            return ApiBody.Field(ex.ParamName == "csrPem" ? "csr" : "body", ex.Message);
        }
        EdgeAdmission admission;
        try
        {
            admission = await admit(signed);
        }
        catch (Exception ex) when (ClusterCalls.IsClusterFault(ex))
        {
            return TypedResults.Problem(detail: "the cluster did not answer; try again", statusCode: StatusCodes.Status503ServiceUnavailable);
        }
        if (admission != EdgeAdmission.Admitted)
        {
            LogRefused(logger, id.ToString(), BootstrapReasons.Of(admission));
            return Refuse(BootstrapReasons.Of(admission), BootstrapReasons.Describe(admission));
        }
        // The root stays in the bundle until this SVID has expired, should it retire first.
        await store.RecordLeafAsync(TrustDomain, ca.CertificatePem, signed.ExpiresAt);
        LogGranted(logger, id.ToString(), signed.ExpiresAt);
        return TypedResults.Ok(new SvidGrant(id.ToString(), signed.CertificatePem, signed.BundlePem, signed.ExpiresAt));
    }

    private static ProblemHttpResult Refuse(string reason, string detail) =>
        ApiBody.Refusal(StatusCodes.Status403Forbidden, reason, detail, title: "edge not admitted");

    [LoggerMessage(EventId = 1430, Level = LogLevel.Information, Message = "Edge SVID {SpiffeId} signed, valid until {ExpiresAt:O}")]
    private static partial void LogGranted(ILogger logger, string spiffeId, DateTimeOffset expiresAt);

    [LoggerMessage(EventId = 1431, Level = LogLevel.Warning, Message = "Bootstrap request for {Subject} refused: {Reason}")]
    private static partial void LogRefused(ILogger logger, string subject, string reason);
}
