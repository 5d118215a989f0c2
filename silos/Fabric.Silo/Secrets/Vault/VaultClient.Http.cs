using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Polly.Timeout;

namespace Fabric.Silo.Secrets.Vault;

public sealed partial class VaultClient
{
    private static readonly MediaTypeHeaderValue Json = new("application/json");

    /// <summary>
    /// An authenticated request. A 403 to an AppRole token the client still believes valid means the
    /// token was revoked or expired behind its back: log in again once and repeat the request.
    /// </summary>
    private async Task<VaultResponse> SendAsync(HttpMethod method, string apiPath, string? query, JsonObject? body, CancellationToken cancellationToken)
    {
        var token = await GetTokenAsync(cancellationToken);
        var response = await SendOnceAsync(method, apiPath, query, body, token.Value, retry: true, cancellationToken);
        if (response.Status == HttpStatusCode.Forbidden && _options.UsesAppRole)
        {
            VaultLog.ReloginAfterForbidden(_logger, method.Method, apiPath);
            response.Dispose();
            ForgetToken(token);
            token = await GetTokenAsync(cancellationToken);
            response = await SendOnceAsync(method, apiPath, query, body, token.Value, retry: true, cancellationToken);
        }
        if (!response.IsSuccess)
        {
            VaultLog.RequestFailed(_logger, method.Method, apiPath, VaultErrors.Classify(response.Status));
        }
        return response;
    }

    /// <summary>One call through the resilience pipeline (which may retry it); transport failures become <see cref="SecretSourceError.Unavailable"/>.</summary>
    private async Task<VaultResponse> SendOnceAsync(
        HttpMethod method, string apiPath, string? query, JsonObject? body, string? token, bool retry, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, RequestUri(apiPath, query));
        request.Headers.TryAddWithoutValidation("X-Vault-Request", "true");
        if (token is not null)
        {
            request.Headers.TryAddWithoutValidation("X-Vault-Token", token);
        }
        if (!string.IsNullOrWhiteSpace(_options.Namespace))
        {
            request.Headers.TryAddWithoutValidation("X-Vault-Namespace", _options.Namespace);
        }
        if (body is not null)
        {
            request.Content = new StringContent(body.ToJsonString(), Encoding.UTF8);
            request.Content.Headers.ContentType = Json;
        }
        if (!retry)
        {
            request.Options.Set(VaultRetryPolicy.NoRetry, true);
        }

        var http = _httpClients.CreateClient(HttpClientName);
        try
        {
            using var response = await http.SendAsync(request, cancellationToken);
            var text = response.Content is null ? "" : await response.Content.ReadAsStringAsync(cancellationToken);
            return new VaultResponse(response.StatusCode, ParseBody(text));
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception e) when (e is HttpRequestException or TimeoutRejectedException or TaskCanceledException)
        {
            var reason = e is HttpRequestException { InnerException: { } inner } ? $"{e.Message} ({inner.Message})" : e.Message;
            VaultLog.RequestFailed(_logger, method.Method, apiPath, SecretSourceError.Unavailable);
            throw new SecretSourceException(SecretSourceError.Unavailable, $"Vault {method.Method} /v1/{apiPath}: unreachable: {reason}", e);
        }
    }

    private static JsonDocument? ParseBody(string text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }
        try
        {
            return JsonDocument.Parse(text);
        }
        catch (JsonException)
        {
            // A proxy's HTML error page, say: the status code still tells what happened.
            return null;
        }
    }

    private Uri RequestUri(string apiPath, string? query)
    {
        var address = _options.Address!.TrimEnd('/');
        return new Uri(query is null ? $"{address}/v1/{apiPath}" : $"{address}/v1/{apiPath}?{query}", UriKind.Absolute);
    }

    /// <summary>
    /// A mount or path from a binding as URL segments: slashes trimmed, each segment escaped, and
    /// empty, <c>.</c> and <c>..</c> segments refused (they would address a different Vault path).
    /// </summary>
    internal static string ApiPath(string? path, string what)
    {
        var segments = (path ?? "").Trim('/').Split('/');
        if (segments.Any(s => s is "" or "." or ".."))
        {
            throw new SecretSourceException(SecretSourceError.InvalidRequest,
                $"Vault {what} '{path}' is not a valid path (empty, '.' or '..' segment)");
        }
        return string.Join('/', segments.Select(Uri.EscapeDataString));
    }
}
