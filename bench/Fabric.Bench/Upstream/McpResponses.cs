using System.Text;

namespace Fabric.Bench.Upstream;

/// <summary>
/// What the upstream answers, pre-encoded around the request's raw id: a small <c>tools/call</c>
/// result, and a 50-tool <c>tools/list</c> (names <c>echo</c>, <c>tool-01</c> … <c>tool-49</c>, each
/// with a description and an input schema, about 8 KiB), as JSON or as one SSE <c>message</c> event.
/// </summary>
internal static class McpResponses
{
    public const int ToolCount = 50;

    private static readonly byte[] Head = """{"jsonrpc":"2.0","id":"""u8.ToArray();
    private static readonly byte[] CallTail = ""","result":{"content":[{"type":"text","text":"ok"}],"isError":false}}"""u8.ToArray();
    private static readonly byte[] ListTail = Encoding.UTF8.GetBytes(",\"result\":{\"tools\":[" + string.Join(",", ToolNames().Select(Tool)) + "]}}");
    private static readonly byte[] SseHead = "event: message\ndata: "u8.ToArray();
    private static readonly byte[] SseTail = "\n\n"u8.ToArray();

    public static IEnumerable<string> ToolNames() =>
        Enumerable.Range(0, ToolCount).Select(i => i == 0 ? "echo" : "tool-" + i.ToString("00", System.Globalization.CultureInfo.InvariantCulture));

    private static string Tool(string name) =>
        "{\"name\":\"" + name + "\",\"description\":\"Benchmark tool " + name + ": does nothing useful, quickly.\","
        + "\"inputSchema\":{\"type\":\"object\",\"properties\":{\"text\":{\"type\":\"string\"}},\"required\":[\"text\"]}}";

    /// <summary>Writes the whole response into <paramref name="output"/>.</summary>
    public static int Write(Span<byte> output, ReadOnlySpan<byte> rawId, bool list, bool sse)
    {
        var tail = list ? ListTail : CallTail;
        var written = 0;
        if (sse)
        {
            Append(output, SseHead, ref written);
        }
        Append(output, Head, ref written);
        Append(output, rawId, ref written);
        Append(output, tail, ref written);
        if (sse)
        {
            Append(output, SseTail, ref written);
        }
        return written;
    }

    public static int MaxLength(int rawIdLength) => SseHead.Length + Head.Length + rawIdLength + ListTail.Length + SseTail.Length;

    private static void Append(Span<byte> output, ReadOnlySpan<byte> part, ref int written)
    {
        part.CopyTo(output[written..]);
        written += part.Length;
    }
}
