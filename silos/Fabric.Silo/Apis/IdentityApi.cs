using Fabric.Contracts.Identity;
using Fabric.Silo.Identity;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace Fabric.Silo.Apis;

/// <summary><c>POST /v1/svids</c> (admin) mints an X.509-SVID; <c>GET /v1/bundle</c> (public) serves the trust bundle.</summary>
internal static class IdentityApi
{
    public const int MaxTtlSeconds = 30 * 24 * 3600;

    public sealed record SvidRequestBody(string? SpiffeId, int? TtlSeconds, IReadOnlyList<string>? DnsNames, IReadOnlyList<string>? IpAddresses);

    /// <summary>A minted X.509-SVID: certificate, private key and trust bundle (PEM), and when it expires.</summary>
    public sealed record SvidResponse(string CertificatePem, string PrivateKeyPem, string BundlePem, DateTimeOffset ExpiresAt)
    {
        // A record prints its members; the key must never reach a log line.
        public override string ToString() => $"SvidResponse(expires={ExpiresAt:O}, key=***)";
    }

    public static void MapSvidsApi(this RouteGroupBuilder v1)
    {
        v1.MapPost("/svids", MintSvid)
            .WithName(nameof(MintSvid))
            .WithSummary("Mint an X.509-SVID for a workload in this fabric's trust domain");
    }

    private static async Task<Results<Ok<SvidResponse>, ValidationProblem, ProblemHttpResult>> MintSvid(
        HttpContext context, IGrainFactory grains, IOptions<TrustDomainOptions> trust)
    {
        var (body, invalid, tooLarge) = await ApiBody.ReadAsync<SvidRequestBody>(context);
        if (tooLarge is not null)
        {
            return tooLarge;
        }
        if (invalid is not null)
        {
            return invalid;
        }
        var errors = new Dictionary<string, string[]>();
        if (!SpiffeId.TryParse(body!.SpiffeId, out var id, out var idError))
        {
            errors["spiffeId"] = [idError];
        }
        else if (!id.IsWorkload)
        {
            errors["spiffeId"] = ["an SVID's SPIFFE ID needs a path"];
        }
        else if (id.TrustDomain != trust.Value.TrustDomain)
        {
            errors["spiffeId"] = [$"this fabric's CA issues only in trust domain '{trust.Value.TrustDomain}'"];
        }
        else if (id.IsReserved)
        {
            // The edge gets its /fabric/edge/<name> SVID from the CA grain directly; the API minting
            // one would let any admin client impersonate an edge (issue 9 §2).
            errors["spiffeId"] = [$"'{SpiffeId.ReservedPath}' and everything under it are reserved for the fabric's own components"];
        }
        var ttl = body.TtlSeconds ?? 3600;
        if (ttl is <= 0 or > MaxTtlSeconds)
        {
            errors["ttlSeconds"] = [$"ttlSeconds must be between 1 and {MaxTtlSeconds}"];
        }
        CheckEach(body.DnsNames, "dnsNames", name => SvidRequestRules.CheckDnsNames([name]), errors);
        CheckEach(body.IpAddresses, "ipAddresses", address => SvidRequestRules.CheckIpAddresses([address]), errors);
        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }
        try
        {
            var issued = await grains.Authority(id!.TrustDomain).IssueAsync(
                new SvidRequest(id.ToString(), TimeSpan.FromSeconds(ttl), body.DnsNames ?? [], body.IpAddresses ?? []));
            return TypedResults.Ok(new SvidResponse(issued.CertificatePem, issued.PrivateKeyPem, issued.BundlePem, issued.ExpiresAt));
        }
        catch (ArgumentException ex)
        {
            return ApiBody.Field("body", ex.Message);
        }
    }

    /// <summary>Runs the CA's own rule on each entry, so a refusal names the entry (<c>dnsNames[1]</c>), not the body.</summary>
    private static void CheckEach(IReadOnlyList<string>? values, string field, Action<string> check, Dictionary<string, string[]> errors)
    {
        for (var i = 0; i < (values?.Count ?? 0); i++)
        {
            try
            {
                check(values![i]);
            }
            catch (ArgumentException ex)
            {
                errors[$"{field}[{i}]"] = [ex.Message];
            }
        }
    }

    public static void MapBundleApi(this RouteGroupBuilder v1)
    {
        v1.MapGet("/bundle", GetTrustBundle)
            .WithName(nameof(GetTrustBundle))
            .WithSummary("Get the trust bundle (PEM); public, no credentials needed");
    }

    private static async Task<ContentHttpResult> GetTrustBundle(HttpContext context, IGrainFactory grains, IOptions<TrustDomainOptions> trust)
    {
        var bundle = await grains.Authority(trust.Value.TrustDomain).GetBundleAsync();
        // Clients that cache the bundle compare sequences: it only grows (every root change increments it).
        context.Response.Headers["Fabric-Bundle-Sequence"] = bundle.Sequence.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return TypedResults.Text(bundle.Pem, "application/x-pem-file");
    }

    public static void MapCaApi(this RouteGroupBuilder v1)
    {
        v1.MapGet("/ca", GetCaStatus)
            .WithName(nameof(GetCaStatus))
            .WithSummary("Get the CA's roots (active, prepared, retiring) and the bundle sequence");
        v1.MapPost("/ca:rotate", RotateCa)
            .WithName(nameof(RotateCa))
            .WithSummary("Rotate the CA's root without downtime: returns once issuance switched to the new root");
    }

    private static async Task<Ok<CaStatus>> GetCaStatus(IGrainFactory grains, IOptions<TrustDomainOptions> trust) =>
        TypedResults.Ok(await grains.Authority(trust.Value.TrustDomain).GetStatusAsync());

    private static async Task<Results<Ok<CaStatus>, ProblemHttpResult>> RotateCa(IGrainFactory grains, IOptions<TrustDomainOptions> trust)
    {
        var status = await grains.Authority(trust.Value.TrustDomain).RotateAsync();
        return status.Refusal is null
            ? TypedResults.Ok(status)
            : TypedResults.Problem(detail: status.Refusal, statusCode: StatusCodes.Status409Conflict,
                extensions: new Dictionary<string, object?> { ["reason"] = "rotation-in-progress", ["sequence"] = status.Sequence });
    }
}
