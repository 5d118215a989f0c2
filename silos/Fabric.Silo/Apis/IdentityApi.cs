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
        v1.MapPost("/jwt-svids", MintJwtSvid)
            .WithName(nameof(MintJwtSvid))
            .WithSummary("Mint a JWT-SVID (ES256, at most 10 minutes) for a workload that cannot do mTLS");
    }

    public const int MaxJwtTtlSeconds = 600;
    public const int MaxAudiences = 10;

    public sealed record JwtSvidRequestBody(string? SpiffeId, System.Text.Json.JsonElement? Audience, int? TtlSeconds);

    /// <summary>A JWT-SVID and when it expires. ToString hides the token: it is a bearer credential.</summary>
    public sealed record JwtSvidResponse(string Token, DateTimeOffset ExpiresAt)
    {
        public override string ToString() => $"JwtSvidResponse(expires={ExpiresAt:O}, token=***)";
    }

    private static async Task<Results<Ok<JwtSvidResponse>, ValidationProblem, ProblemHttpResult>> MintJwtSvid(
        HttpContext context, IGrainFactory grains, IOptions<TrustDomainOptions> trust)
    {
        var (body, invalid, tooLarge) = await ApiBody.ReadAsync<JwtSvidRequestBody>(context);
        if (tooLarge is not null)
        {
            return tooLarge;
        }
        if (invalid is not null)
        {
            return invalid;
        }
        var errors = new Dictionary<string, string[]>();
        if (CheckWorkloadId(body!.SpiffeId, trust.Value.TrustDomain) is { } idError)
        {
            errors["spiffeId"] = [idError];
        }
        var audience = ReadAudience(body.Audience, out var audienceError);
        if (audienceError is not null)
        {
            errors["audience"] = [audienceError];
        }
        var ttl = body.TtlSeconds ?? 300;
        if (ttl is <= 0 or > MaxJwtTtlSeconds)
        {
            errors["ttlSeconds"] = [$"ttlSeconds must be between 1 and {MaxJwtTtlSeconds}"];
        }
        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }
        var issued = await grains.Authority(trust.Value.TrustDomain).IssueJwtAsync(new JwtSvidRequest(body.SpiffeId!, audience!, TimeSpan.FromSeconds(ttl)));
        return TypedResults.Ok(new JwtSvidResponse(issued.Token, issued.ExpiresAt));
    }

    /// <summary><c>audience</c>: one string or an array of 1 to 10 non-empty strings (at most 256 characters each).</summary>
    private static string[]? ReadAudience(System.Text.Json.JsonElement? audience, out string? error)
    {
        error = null;
        string[]? values = audience?.ValueKind switch
        {
            System.Text.Json.JsonValueKind.String => [audience.Value.GetString()!],
            System.Text.Json.JsonValueKind.Array when audience.Value.EnumerateArray().All(a => a.ValueKind == System.Text.Json.JsonValueKind.String) =>
                [.. audience.Value.EnumerateArray().Select(a => a.GetString()!)],
            _ => null,
        };
        if (values is null || values.Length is 0 or > MaxAudiences || values.Any(v => v.Length is 0 or > 256 || v.Any(char.IsControl)))
        {
            error = $"audience is required: a string or an array of 1 to {MaxAudiences} non-empty strings (the SPIFFE ID of the edge that will accept it)";
            return null;
        }
        return values;
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
        var idError = CheckWorkloadId(body!.SpiffeId, trust.Value.TrustDomain);
        if (idError is not null)
        {
            errors["spiffeId"] = [idError];
        }
        var id = idError is null ? SpiffeId.Parse(body.SpiffeId!) : null;
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

    /// <summary>Why <paramref name="value"/> is no SPIFFE ID the API mints for, or null.</summary>
    private static string? CheckWorkloadId(string? value, string trustDomain)
    {
        if (!SpiffeId.TryParse(value, out var id, out var error))
        {
            return error;
        }
        if (!id.IsWorkload)
        {
            return "an SVID's SPIFFE ID needs a path";
        }
        if (id.TrustDomain != trustDomain)
        {
            return $"this fabric's CA issues only in trust domain '{trustDomain}'";
        }
        // Edges get their /fabric/edge/<name> SVID by attestation; the API minting one would let any admin
        // client impersonate an edge (issue 9 §2).
        return id.IsReserved ? $"'{SpiffeId.ReservedPath}' and everything under it are reserved for the fabric's own components" : null;
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
            : ApiBody.Refusal(StatusCodes.Status409Conflict, "rotation-in-progress", status.Refusal, more: [new("sequence", status.Sequence)]);
    }
}
