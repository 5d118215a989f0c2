using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Fabric.Cli;

/// <summary>A failed API call: refused by the fabric (4xx, with its problem details) or not answered (unreachable, 5xx).</summary>
public sealed class ApiException(int exitCode, string message, JsonElement? problem = null) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
    public JsonElement? Problem { get; } = problem;
}

/// <summary>The management API over HTTP: JSON in and out, the admin token as a bearer token, failures as <see cref="ApiException"/>.</summary>
public sealed class ApiClient : IDisposable
{
    private readonly HttpClient _http;

    public ApiClient(Uri api, string? token, HttpMessageHandler? handler = null)
    {
        _http = handler is null ? new HttpClient() : new HttpClient(handler, disposeHandler: false);
        _http.BaseAddress = api;
        _http.Timeout = TimeSpan.FromSeconds(30);
        if (token is not null)
        {
            _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
    }

    public Uri Api => _http.BaseAddress!;

    public Task<JsonElement> GetAsync(string path, CancellationToken cancellationToken) => SendAsync(HttpMethod.Get, path, null, cancellationToken);

    public Task<JsonElement> DeleteAsync(string path, CancellationToken cancellationToken) => SendAsync(HttpMethod.Delete, path, null, cancellationToken);

    public Task<JsonElement> PutAsync(string path, string json, CancellationToken cancellationToken) => SendAsync(HttpMethod.Put, path, json, cancellationToken);

    public Task<JsonElement> PostAsync(string path, string? json, CancellationToken cancellationToken) => SendAsync(HttpMethod.Post, path, json, cancellationToken);

    /// <summary>One call; the answer's JSON (an empty object for 204).</summary>
    public async Task<JsonElement> SendAsync(HttpMethod method, string path, string? json, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, path.TrimStart('/'));
        if (json is not null)
        {
            request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        }
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, cancellationToken);
        }
        catch (HttpRequestException ex)
        {
            throw new ApiException(ExitCodes.Unreachable, $"{Api} could not be reached: {ex.GetBaseException().Message}");
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new ApiException(ExitCodes.Unreachable, $"{Api} did not answer within {_http.Timeout.TotalSeconds:0} s");
        }
        using (response)
        {
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            JsonElement? parsed = null;
            if (body.Length > 0)
            {
                try
                {
                    using var document = JsonDocument.Parse(body);
                    parsed = document.RootElement.Clone();
                }
                catch (JsonException)
                {
                    parsed = null;
                }
            }
            if (response.IsSuccessStatusCode)
            {
                return parsed ?? JsonDocument.Parse("{}").RootElement.Clone();
            }
            var status = (int)response.StatusCode;
            var exit = status >= 500 ? ExitCodes.Unreachable : ExitCodes.Refused;
            throw new ApiException(exit, Describe(response.StatusCode, parsed), parsed);
        }
    }

    /// <summary>Problem details made readable: title, detail, reason, and each field error as <c>field: message</c>.</summary>
    public static string Describe(HttpStatusCode status, JsonElement? problem)
    {
        var text = new StringBuilder().Append((int)status).Append(' ');
        if (problem is not { ValueKind: JsonValueKind.Object } p)
        {
            return text.Append(status).ToString();
        }
        text.Append(p.TryGetProperty("title", out var title) ? title.GetString() : status.ToString());
        if (p.TryGetProperty("reason", out var reason) && reason.ValueKind == JsonValueKind.String)
        {
            text.Append(" (").Append(reason.GetString()).Append(')');
        }
        if (p.TryGetProperty("detail", out var detail) && detail.ValueKind == JsonValueKind.String)
        {
            text.Append(": ").Append(detail.GetString());
        }
        if (p.TryGetProperty("errors", out var errors) && errors.ValueKind == JsonValueKind.Object)
        {
            foreach (var field in errors.EnumerateObject())
            {
                var messages = field.Value.ValueKind == JsonValueKind.Array
                    ? string.Join("; ", field.Value.EnumerateArray().Select(m => m.GetString()))
                    : field.Value.ToString();
                text.Append('\n').Append("  ").Append(field.Name).Append(": ").Append(messages);
            }
        }
        return text.ToString();
    }

    public void Dispose() => _http.Dispose();
}
