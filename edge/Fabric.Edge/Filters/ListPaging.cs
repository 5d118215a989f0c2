using System.Text;
using System.Text.Json;

namespace Fabric.Edge.Filters;

/// <summary>The cursors of a paged list (MCP pagination): the one a request asked for, the one its answer returned.</summary>
internal static class ListPaging
{
    /// <summary><c>params.cursor</c> of a list request, or null (the first page, or not a string).</summary>
    public static string? RequestCursorOf(ReadOnlySpan<byte> request)
    {
        try
        {
            var reader = new Utf8JsonReader(request);
            using var document = JsonDocument.ParseValue(ref reader);
            return document.RootElement.TryGetProperty("params", out var parameters) && parameters.ValueKind == JsonValueKind.Object
                && parameters.TryGetProperty("cursor", out var cursor) && cursor.ValueKind == JsonValueKind.String
                ? cursor.GetString()
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary><c>result.nextCursor</c> of a list answer (JSON, or the last message of an SSE answer), or null (the last page).</summary>
    public static string? NextCursorOf(ReadOnlySpan<byte> answer)
    {
        var json = answer;
        if (answer.StartsWith("event:"u8) || answer.StartsWith("data:"u8) || answer.StartsWith("id:"u8))
        {
            var last = Encoding.UTF8.GetString(answer).Split('\n').LastOrDefault(l => l.StartsWith("data:", StringComparison.Ordinal));
            if (last is null)
            {
                return null;
            }
            json = Encoding.UTF8.GetBytes(last[5..].Trim());
        }
        try
        {
            var reader = new Utf8JsonReader(json);
            using var document = JsonDocument.ParseValue(ref reader);
            return document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("result", out var result) && result.ValueKind == JsonValueKind.Object
                && result.TryGetProperty("nextCursor", out var next) && next.ValueKind == JsonValueKind.String
                ? next.GetString()
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
