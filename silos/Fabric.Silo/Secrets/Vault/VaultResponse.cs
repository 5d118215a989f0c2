using System.Net;
using System.Text.Json;

namespace Fabric.Silo.Secrets.Vault;

/// <summary>A Vault HTTP answer: its status and its JSON body, if it had one.</summary>
internal sealed class VaultResponse(HttpStatusCode status, JsonDocument? body) : IDisposable
{
    public HttpStatusCode Status { get; } = status;

    public JsonDocument? Body { get; } = body;

    public bool IsSuccess => (int)Status is >= 200 and < 300;

    /// <summary>A top-level member of the body (<c>data</c>, <c>auth</c>, <c>lease_id</c>, …) if present and not null.</summary>
    public bool TryGet(string name, out JsonElement value) => TryGet(Body?.RootElement, name, out value);

    public static bool TryGet(JsonElement? parent, string name, out JsonElement value)
    {
        value = default;
        return parent is { ValueKind: JsonValueKind.Object } p
            && p.TryGetProperty(name, out value)
            && value.ValueKind != JsonValueKind.Null;
    }

    public static string? String(JsonElement parent, string name) =>
        TryGet(parent, name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    public static bool Bool(JsonElement parent, string name) =>
        TryGet(parent, name, out var v) && v.ValueKind == JsonValueKind.True;

    /// <summary>A duration in seconds (<c>lease_duration</c>, <c>ttl</c>); Vault sends integers.</summary>
    public static TimeSpan Seconds(JsonElement parent, string name) =>
        TryGet(parent, name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out var s) && s > 0
            ? TimeSpan.FromSeconds(s)
            : TimeSpan.Zero;

    public static IReadOnlyList<string> Strings(JsonElement parent, string name) =>
        TryGet(parent, name, out var v) && v.ValueKind == JsonValueKind.Array
            ? [.. v.EnumerateArray().Where(e => e.ValueKind == JsonValueKind.String).Select(e => e.GetString()!)]
            : [];

    public static DateTimeOffset? Time(JsonElement parent, string name) =>
        String(parent, name) is { Length: > 0 } text && DateTimeOffset.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.RoundtripKind, out var t)
            ? t
            : null;

    public void Dispose() => Body?.Dispose();
}
