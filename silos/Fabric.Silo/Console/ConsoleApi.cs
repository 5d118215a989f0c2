using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Fabric.Silo.Apis;
using Microsoft.AspNetCore.Components.Authorization;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace Fabric.Silo.Console;

/// <summary>What one API call answered, whatever its body: success, or the problem details (title, detail, field errors).</summary>
public interface IApiAnswer
{
    bool Ok { get; }
    int Status { get; }
    string Message { get; }
    IReadOnlyDictionary<string, string[]> Errors { get; }
}

/// <summary>What one API call answered: the body on success, else the problem details (title, detail, field errors).</summary>
public sealed record ApiAnswer<T>(T? Value, int Status, string? Title, string? Detail, IReadOnlyDictionary<string, string[]> Errors) : IApiAnswer
{
    public bool Ok => Status is >= 200 and < 300;

    /// <summary>One line for a banner: the problem's title and detail, or the status.</summary>
    public string Message => string.Join(": ", new[] { Title, Detail }.Where(s => !string.IsNullOrWhiteSpace(s))) is { Length: > 0 } m ? m : $"HTTP {Status}";
}

/// <summary>
/// The console's one way to the fabric: the silo's own management API over loopback, with the signed-in admin token.
/// No page reads a grain: what the console shows and changes is what the API shows and accepts, validation included.
/// </summary>
public sealed class ConsoleApi(IHttpClientFactory clients, AuthenticationStateProvider authentication, IServer server)
{
    private static readonly JsonSerializerOptions Json = CreateJson();

    public Task<ApiAnswer<T>> GetAsync<T>(string path, CancellationToken cancellationToken = default) =>
        SendAsync<T>(HttpMethod.Get, path, null, cancellationToken);

    public Task<ApiAnswer<T>> PutJsonAsync<T>(string path, string json, CancellationToken cancellationToken = default) =>
        SendAsync<T>(HttpMethod.Put, path, json, cancellationToken);

    public Task<ApiAnswer<T>> PostAsync<T>(string path, object? body, CancellationToken cancellationToken = default) =>
        SendAsync<T>(HttpMethod.Post, path, body is null ? null : JsonSerializer.Serialize(body, Json), cancellationToken);

    public Task<ApiAnswer<T>> PutAsync<T>(string path, object body, CancellationToken cancellationToken = default) =>
        SendAsync<T>(HttpMethod.Put, path, JsonSerializer.Serialize(body, Json), cancellationToken);

    public Task<ApiAnswer<JsonElement>> DeleteAsync(string path, CancellationToken cancellationToken = default) =>
        SendAsync<JsonElement>(HttpMethod.Delete, path, null, cancellationToken);

    /// <summary>One path segment of a URL, escaped (a name typed into the console never changes the path's shape).</summary>
    public static string Segment(string value) => Uri.EscapeDataString(value);

    /// <summary>A workload's API path: <c>spiffe://td/p/a/t/h</c> → <c>td/p/a/t/h</c>, each segment escaped.</summary>
    public static string WorkloadPath(string spiffeId) =>
        string.Join('/', spiffeId["spiffe://".Length..].Split('/').Select(Uri.EscapeDataString));

    public static string Indented(JsonElement element) => JsonSerializer.Serialize(element, IndentedJson);

    // For a page only (Blazor HTML-encodes what it renders): "+00:00", not "\u002B00:00".
    private static readonly JsonSerializerOptions IndentedJson = new(Json) { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private async Task<ApiAnswer<T>> SendAsync<T>(HttpMethod method, string path, string? json, CancellationToken cancellationToken)
    {
        var state = await authentication.GetAuthenticationStateAsync();
        if (state.User.FindFirst(ConsoleHosting.TokenClaim)?.Value is not { } token)
        {
            return new ApiAnswer<T>(default, 401, "Signed out", "Sign in again.", Empty);
        }
        using var request = new HttpRequestMessage(method, new Uri(BaseAddress(), path.TrimStart('/')));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        if (json is not null)
        {
            request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        }
        try
        {
            using var response = await clients.CreateClient(ConsoleHosting.ApiClientName).SendAsync(request, cancellationToken);
            var status = (int)response.StatusCode;
            if (response.IsSuccessStatusCode)
            {
                var value = response.Content.Headers.ContentLength == 0 || status == 204
                    ? default
                    : await response.Content.ReadFromJsonAsync<T>(Json, cancellationToken);
                return new ApiAnswer<T>(value, status, null, null, Empty);
            }
            return await ProblemAsync<T>(response, status, cancellationToken);
        }
        catch (Exception ex) when (ex is HttpRequestException or JsonException or TaskCanceledException)
        {
            return new ApiAnswer<T>(default, 503, "The management API did not answer", ex.GetType().Name, Empty);
        }
    }

    private static async Task<ApiAnswer<T>> ProblemAsync<T>(HttpResponseMessage response, int status, CancellationToken cancellationToken)
    {
        string? title = response.ReasonPhrase, detail = null;
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        try
        {
            using var problem = await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync(cancellationToken), cancellationToken: cancellationToken);
            var root = problem.RootElement;
            if (root.ValueKind == JsonValueKind.Object)
            {
                title = root.TryGetProperty("title", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : title;
                detail = root.TryGetProperty("detail", out var d) && d.ValueKind == JsonValueKind.String ? d.GetString() : null;
                if (root.TryGetProperty("errors", out var e) && e.ValueKind == JsonValueKind.Object)
                {
                    foreach (var field in e.EnumerateObject())
                    {
                        errors[field.Name] = field.Value.ValueKind == JsonValueKind.Array
                            ? [.. field.Value.EnumerateArray().Select(m => m.ValueKind == JsonValueKind.String ? m.GetString() ?? "" : m.GetRawText())]
                            : [field.Value.ToString()];
                    }
                }
            }
        }
        catch (JsonException)
        {
            // Not a problem document: the status says it.
        }
        return new ApiAnswer<T>(default, status, title, detail, errors);
    }

    /// <summary>The silo's own HTTP address, a wildcard bind asked on loopback.</summary>
    private Uri BaseAddress()
    {
        var addresses = server.Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
        var address = addresses.FirstOrDefault(a => a.StartsWith("http://", StringComparison.OrdinalIgnoreCase)) ?? addresses.FirstOrDefault()
            ?? throw new InvalidOperationException("the silo host listens on no address");
        var uri = new UriBuilder(address.Replace("://+", "://localhost", StringComparison.Ordinal).Replace("://*", "://localhost", StringComparison.Ordinal));
        if (uri.Host is "0.0.0.0" or "localhost")
        {
            uri.Host = "127.0.0.1";
        }
        else if (uri.Host is "[::]" or "::")
        {
            uri.Host = "[::1]";
        }
        uri.Path = "/";
        return uri.Uri;
    }

    private static readonly IReadOnlyDictionary<string, string[]> Empty = new Dictionary<string, string[]>();

    private static JsonSerializerOptions CreateJson()
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web);
        FabricApi.ConfigureJson(options);
        // Reading answers: a newer server's extra member is no reason to fail a page.
        options.AllowDuplicateProperties = true;
        return options;
    }
}
