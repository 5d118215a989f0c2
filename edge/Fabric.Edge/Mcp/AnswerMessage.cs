using System.Text;
using System.Text.Json;

namespace Fabric.Edge.Mcp;

/// <summary>
/// The JSON-RPC message an upstream's buffered answer carries: the body itself (<c>application/json</c>), or the last
/// <c>data:</c> line of an SSE answer (notifications such as progress come before the response).
/// </summary>
internal static class AnswerMessage
{
    /// <summary>The message's <c>result</c> object, parsed; null when there is none or the answer is not JSON.</summary>
    public static JsonDocument? ParseResult(ReadOnlySpan<byte> answer, out JsonElement result)
    {
        result = default;
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
        JsonDocument document;
        try
        {
            var reader = new Utf8JsonReader(json);
            document = JsonDocument.ParseValue(ref reader);
        }
        catch (JsonException)
        {
            return null;
        }
        if (document.RootElement.ValueKind == JsonValueKind.Object
            && document.RootElement.TryGetProperty("result", out result) && result.ValueKind == JsonValueKind.Object)
        {
            return document;
        }
        document.Dispose();
        result = default;
        return null;
    }
}
