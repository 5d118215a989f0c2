using System.Text.Json;
using Fabric.Edge.Mcp;

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

    /// <summary>
    /// <c>result.nextCursor</c> of a list answer (JSON, or the last message of an SSE answer), or null (the last page).
    /// An answer that does not mention <c>nextCursor</c> at all is not parsed.
    /// </summary>
    public static string? NextCursorOf(ReadOnlySpan<byte> answer)
    {
        if (answer.IndexOf("\"nextCursor\""u8) < 0)
        {
            return null;
        }
        using var document = AnswerMessage.ParseResult(answer, out var result);
        return document is not null && result.TryGetProperty("nextCursor", out var next) && next.ValueKind == JsonValueKind.String
            ? next.GetString()
            : null;
    }
}
