using Fabric.Contracts.Identity;
using Fabric.Silo.Identity;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace Fabric.Silo.Apis;

/// <summary>
/// SPIFFE Federation (admin): <c>PUT /v1/federation/{trustDomain}</c> federates with a foreign trust domain through
/// its bundle endpoint; <c>GET /v1/federation</c> lists each domain's sequence, last and next refresh, last error.
/// A foreign agent is admitted only where a policy subject names its domain: federation alone allows nothing.
/// </summary>
internal static class FederationApi
{
    public sealed record FederationBody(string? BundleEndpointUrl, string? Profile, string? EndpointSpiffeId, string? BootstrapBundle);

    public sealed record FederationList(IReadOnlyList<FederationStatus> TrustDomains);

    public static void MapFederationApi(this RouteGroupBuilder v1)
    {
        v1.MapPut("/federation/{trustDomain}", PutFederation)
            .WithName(nameof(PutFederation))
            .WithSummary("Federate with a foreign trust domain through its SPIFFE bundle endpoint (https_web or https_spiffe)");
        v1.MapGet("/federation", ListFederation)
            .WithName(nameof(ListFederation))
            .WithSummary("List federated trust domains with their bundle sequence, last and next refresh, last error");
        v1.MapDelete("/federation/{trustDomain}", DeleteFederation)
            .WithName(nameof(DeleteFederation))
            .WithSummary("End a federation: edges drop the domain's bundle");
    }

    private static async Task<Results<Ok<FederationStatus>, ValidationProblem, ProblemHttpResult>> PutFederation(
        string trustDomain, HttpContext context, IGrainFactory grains, IOptions<TrustDomainOptions> own)
    {
        var (body, invalid, tooLarge) = await ApiBody.ReadAsync<FederationBody>(context);
        if (tooLarge is not null)
        {
            return tooLarge;
        }
        if (invalid is not null)
        {
            return invalid;
        }
        var errors = new Dictionary<string, string[]>();
        if (!SpiffeId.IsValidTrustDomain(trustDomain) || trustDomain == own.Value.TrustDomain)
        {
            errors["trustDomain"] = [$"a valid trust domain name other than this fabric's own ('{own.Value.TrustDomain}')"];
        }
        var profile = body!.Profile switch
        {
            "https_web" => FederationProfile.HttpsWeb,
            "https_spiffe" => FederationProfile.HttpsSpiffe,
            _ => (FederationProfile?)null,
        };
        if (profile is null)
        {
            errors["profile"] = ["profile is required: 'https_web' or 'https_spiffe'"];
        }
        if (!Uri.TryCreate(body.BundleEndpointUrl, UriKind.Absolute, out var url) || url.Scheme != Uri.UriSchemeHttps || !string.IsNullOrEmpty(url.UserInfo))
        {
            errors["bundleEndpointUrl"] = ["an absolute https URL without credentials"];
        }
        if (profile == FederationProfile.HttpsSpiffe)
        {
            if (!SpiffeId.TryParse(body.EndpointSpiffeId, out var endpointId) || !endpointId.IsWorkload || endpointId.TrustDomain != trustDomain)
            {
                errors["endpointSpiffeId"] = [$"https_spiffe needs the endpoint's SPIFFE ID, in '{trustDomain}'"];
            }
            if (string.IsNullOrWhiteSpace(body.BootstrapBundle) || !TryLoadRoots(body.BootstrapBundle))
            {
                errors["bootstrapBundle"] = ["https_spiffe needs the domain's bundle (PEM CA certificates) to authenticate its endpoint the first time"];
            }
        }
        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }
        var status = await grains.Federation(trustDomain).ConfigureAsync(new FederationConfig(url!.ToString(), profile!.Value, body.EndpointSpiffeId, body.BootstrapBundle));
        return TypedResults.Ok(status);
    }

    private static async Task<Ok<FederationList>> ListFederation(IGrainFactory grains)
    {
        var domains = await grains.FederationDirectory().ListAsync();
        var statuses = await Task.WhenAll(domains.Select(d => grains.Federation(d).GetStatusAsync().AsTask()));
        return TypedResults.Ok(new FederationList([.. statuses.OfType<FederationStatus>()]));
    }

    private static async Task<Results<NoContent, NotFound>> DeleteFederation(string trustDomain, IGrainFactory grains) =>
        SpiffeId.IsValidTrustDomain(trustDomain) && await grains.Federation(trustDomain).RemoveAsync() ? TypedResults.NoContent() : TypedResults.NotFound();

    private static bool TryLoadRoots(string pem)
    {
        try
        {
            var roots = SvidPem.LoadCertificates(pem);
            return roots.Count > 0 && roots.All(r => r.Extensions.OfType<System.Security.Cryptography.X509Certificates.X509BasicConstraintsExtension>().Any(b => b.CertificateAuthority));
        }
        catch (System.Security.Cryptography.CryptographicException)
        {
            return false;
        }
    }
}
