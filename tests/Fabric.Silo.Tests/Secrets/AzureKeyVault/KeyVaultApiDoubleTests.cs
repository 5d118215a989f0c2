using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;

namespace Fabric.Silo.Tests.Secrets.AzureKeyVault;

/// <summary>The double's wire format, checked with a plain HttpClient (the SDK hides most of it).</summary>
public sealed class KeyVaultApiDoubleTests
{
    [Fact]
    public async Task An_unauthenticated_request_gets_401_with_the_bearer_challenge()
    {
        await using var vault = await KeyVaultApiDouble.StartAsync();
        using var http = new HttpClient(vault.CreateHandler()) { BaseAddress = vault.VaultUri };

        using var response = await http.GetAsync(new Uri("secrets/x?api-version=7.6", UriKind.Relative));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal(
            $"Bearer authorization=\"https://login.microsoftonline.com/{KeyVaultApiDouble.TenantId}\", resource=\"https://vault.azure.net\"",
            Assert.Single(response.Headers.WwwAuthenticate).ToString());
        Assert.Equal("Unauthorized", await ErrorCodeAsync(response));
    }

    [Fact]
    public async Task The_api_version_query_is_required()
    {
        await using var vault = await KeyVaultApiDouble.StartAsync();
        using var http = Authenticated(vault);

        using var response = await http.GetAsync(new Uri("secrets/x", UriKind.Relative));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("BadParameter", await ErrorCodeAsync(response));
    }

    [Fact]
    public async Task A_secret_bundle_has_the_documented_shape()
    {
        await using var vault = await KeyVaultApiDouble.StartAsync();
        var expires = new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var version = vault.SetSecret("shape", "shape-value", expires: expires, contentType: "text/plain",
            tags: new Dictionary<string, string> { ["owner"] = "fabric" });
        using var http = Authenticated(vault);

        using var response = await http.GetAsync(new Uri("secrets/shape/?api-version=7.6", UriKind.Relative));
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var root = body.RootElement;

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("shape-value", root.GetProperty("value").GetString());
        Assert.Equal($"https://{vault.Host}:{vault.Port}/secrets/shape/{version}", root.GetProperty("id").GetString());
        Assert.Equal("text/plain", root.GetProperty("contentType").GetString());
        Assert.Equal("fabric", root.GetProperty("tags").GetProperty("owner").GetString());
        var attributes = root.GetProperty("attributes");
        Assert.True(attributes.GetProperty("enabled").GetBoolean());
        Assert.Equal(expires.ToUnixTimeSeconds(), attributes.GetProperty("exp").GetInt64());
        Assert.Equal(JsonValueKind.Number, attributes.GetProperty("created").ValueKind);
        Assert.Equal(JsonValueKind.Number, attributes.GetProperty("updated").ValueKind);
        Assert.Equal("Recoverable+Purgeable", attributes.GetProperty("recoveryLevel").GetString());
    }

    [Fact]
    public async Task Errors_have_the_KeyVaultError_shape()
    {
        await using var vault = await KeyVaultApiDouble.StartAsync();
        vault.SetSecret("off", "off-value", enabled: false);
        using var http = Authenticated(vault);

        using var missing = await http.GetAsync(new Uri("secrets/nope?api-version=7.6", UriKind.Relative));
        using var disabled = await http.GetAsync(new Uri("secrets/off?api-version=7.6", UriKind.Relative));
        vault.Throttle(1);
        using var throttled = await http.GetAsync(new Uri("secrets/off?api-version=7.6", UriKind.Relative));

        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal("SecretNotFound", await ErrorCodeAsync(missing));
        Assert.StartsWith("A secret with (name/id) nope was not found in this key vault.", await ErrorMessageAsync(missing), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Forbidden, disabled.StatusCode);
        Assert.Equal("Forbidden", await ErrorCodeAsync(disabled));
        Assert.Equal((HttpStatusCode)429, throttled.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(1), throttled.Headers.RetryAfter?.Delta);
    }

    private static HttpClient Authenticated(KeyVaultApiDouble vault)
    {
        var http = new HttpClient(vault.CreateHandler()) { BaseAddress = vault.VaultUri };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", vault.ExpectedToken);
        return http;
    }

    private static async Task<string?> ErrorCodeAsync(HttpResponseMessage response)
    {
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return body.RootElement.GetProperty("error").GetProperty("code").GetString();
    }

    private static async Task<string?> ErrorMessageAsync(HttpResponseMessage response)
    {
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return body.RootElement.GetProperty("error").GetProperty("message").GetString();
    }
}
