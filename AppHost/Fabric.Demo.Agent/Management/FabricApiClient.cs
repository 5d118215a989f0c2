using System.Net.Http.Headers;
using System.Net.Http.Json;
using Microsoft.Extensions.Options;

namespace Fabric.Demo.Agent.Management;

/// <summary>
/// The few management API calls the demo needs (/v1, JSON camelCase, admin bearer token).
/// Every PUT is idempotent, so the agent simply repeats the setup after a silo restart
/// (the embedded default keeps state in memory).
/// </summary>
public sealed class FabricApiClient
{
    private readonly HttpClient _http;

    public FabricApiClient(HttpClient http, IOptions<DemoAgentOptions> options)
    {
        _http = http;
        _http.BaseAddress = options.Value.ApiUrl;
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", options.Value.AdminToken);
        _http.Timeout = TimeSpan.FromSeconds(15);
    }

    /// <summary>GET /v1/bundle (no auth): the fabric's trust bundle, PEM.</summary>
    public async Task<string> GetBundleAsync(CancellationToken cancellationToken)
    {
        using var response = await _http.GetAsync(new Uri("v1/bundle", UriKind.Relative), cancellationToken);
        await EnsureSuccessAsync(response, "GET /v1/bundle", cancellationToken);
        return await response.Content.ReadAsStringAsync(cancellationToken);
    }

    public Task PutSecretAsync(string name, string value, CancellationToken cancellationToken) =>
        PutAsync($"v1/secrets/{name}", new { value }, cancellationToken);

    public Task PutServerAsync(string name, object server, CancellationToken cancellationToken) =>
        PutAsync($"v1/servers/{name}", server, cancellationToken);

    public Task PutPolicyAsync(string name, object policy, CancellationToken cancellationToken) =>
        PutAsync($"v1/policies/{name}", policy, cancellationToken);

    public Task PutEgressTargetAsync(string name, object target, CancellationToken cancellationToken) =>
        PutAsync($"v1/egress/{name}", target, cancellationToken);

    /// <summary>POST /v1/svids: mints an X.509-SVID for <paramref name="spiffeId"/>.</summary>
    public async Task<SvidResponse> MintSvidAsync(string spiffeId, int ttlSeconds, CancellationToken cancellationToken)
    {
        using var response = await _http.PostAsJsonAsync(new Uri("v1/svids", UriKind.Relative),
            new { spiffeId, ttlSeconds, dnsNames = Array.Empty<string>() }, cancellationToken);
        await EnsureSuccessAsync(response, "POST /v1/svids", cancellationToken);
        return await response.Content.ReadFromJsonAsync<SvidResponse>(cancellationToken)
            ?? throw new InvalidOperationException("POST /v1/svids returned an empty body");
    }

    private async Task PutAsync(string path, object body, CancellationToken cancellationToken)
    {
        using var response = await _http.PutAsJsonAsync(new Uri(path, UriKind.Relative), body, cancellationToken);
        await EnsureSuccessAsync(response, $"PUT /{path}", cancellationToken);
    }

    private static async Task EnsureSuccessAsync(HttpResponseMessage response, string what, CancellationToken cancellationToken)
    {
        if (response.IsSuccessStatusCode)
        {
            return;
        }
        // Problem details from the API carry field errors and never secret values.
        var detail = await response.Content.ReadAsStringAsync(cancellationToken);
        if (detail.Length > 500)
        {
            detail = detail[..500];
        }
        throw new HttpRequestException($"{what} failed: {(int)response.StatusCode} {detail}", null, response.StatusCode);
    }
}

/// <summary>The body of POST /v1/svids.</summary>
public sealed record SvidResponse(string CertificatePem, string PrivateKeyPem, string BundlePem, DateTimeOffset ExpiresAt);
