using System.Net;
using System.Text.Json;

namespace Fabric.Silo.Secrets.Vault;

/// <summary>
/// Vault's answers mapped to <see cref="SecretSourceError"/>. Per developer.hashicorp.com/vault/api-docs
/// ("HTTP status codes", "Error response"): an error is <c>{"errors":["…"]}</c>; 400 invalid request,
/// 403 forbidden, 404 invalid path (or hidden for lack of permission), 405 unsupported operation,
/// 412 missing eventually-consistent state, 429 rate limited, 5xx server side, 503 sealed/maintenance.
/// Messages carry the method, the path and Vault's own error strings — never a request body,
/// a token or secret data.
/// </summary>
internal static class VaultErrors
{
    private const int MaxDetail = 300;

    public static SecretSourceException FromResponse(HttpMethod method, string path, HttpStatusCode status, JsonDocument? body, string? what = null)
    {
        var code = (int)status;
        var error = Classify(status);
        var detail = code is >= 300 and < 400
            ? "redirect not followed (the Vault address must point at a node that answers)"
            : Describe(body) ?? DefaultDetail(status);
        return new SecretSourceException(error, $"Vault {method.Method} /v1/{path}{(what is null ? "" : $" ({what})")}: {code} {detail}");
    }

    public static SecretSourceError Classify(HttpStatusCode status) => (int)status switch
    {
        401 or 403 => SecretSourceError.Forbidden,
        404 => SecretSourceError.NotFound,
        412 or 429 or >= 500 => SecretSourceError.Unavailable,
        >= 300 and < 400 => SecretSourceError.Unavailable,
        _ => SecretSourceError.InvalidRequest,
    };

    /// <summary><c>errors</c> of an error body joined, whitespace folded, bounded; null when there are none.</summary>
    public static string? Describe(JsonDocument? body)
    {
        if (body is null || body.RootElement.ValueKind != JsonValueKind.Object
            || !body.RootElement.TryGetProperty("errors", out var errors) || errors.ValueKind != JsonValueKind.Array)
        {
            return null;
        }
        var parts = errors.EnumerateArray()
            .Where(e => e.ValueKind == JsonValueKind.String)
            .Select(e => string.Join(' ', e.GetString()!.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)))
            .Where(s => s.Length > 0)
            .ToList();
        if (parts.Count == 0)
        {
            return null;
        }
        var text = string.Join("; ", parts);
        return text.Length <= MaxDetail ? text : text[..MaxDetail] + "…";
    }

    private static string DefaultDetail(HttpStatusCode status) => (int)status switch
    {
        404 => "not found",
        503 => "Vault is unavailable (sealed or in maintenance)",
        _ => status.ToString(),
    };
}
