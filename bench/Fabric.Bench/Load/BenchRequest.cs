using System.Text;

namespace Fabric.Bench.Load;

/// <summary>
/// One JSON-RPC POST as a 2026-07-28 stateless client sends it: <c>MCP-Protocol-Version</c>,
/// <c>Mcp-Method</c>, <c>Mcp-Name</c> (tools/call), <c>Accept</c> with both types, body with
/// <c>params._meta</c>. The body is built once; each send wraps it in a fresh message.
/// </summary>
internal sealed class BenchRequest
{
    public const string ProtocolVersion = "2026-07-28";

    private BenchRequest(string path, string method, string? name, byte[] body)
    {
        Path = path;
        Method = method;
        Name = name;
        Body = body;
    }

    public string Path { get; }
    public string Method { get; }
    public string? Name { get; }
    public byte[] Body { get; }

    /// <summary>A <c>tools/call</c> of <c>echo</c> whose whole body is <paramref name="bodyBytes"/> long (the text argument pads it).</summary>
    public static BenchRequest ToolsCall(string path, int bodyBytes, string tool = "echo")
    {
        var empty = CallJson(tool, "");
        var padding = Math.Max(0, bodyBytes - Encoding.UTF8.GetByteCount(empty));
        return new BenchRequest(path, "tools/call", tool, Encoding.UTF8.GetBytes(CallJson(tool, new string('x', padding))));
    }

    public static BenchRequest ToolsList(string path) => new(path, "tools/list", null, Encoding.UTF8.GetBytes(
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\",\"params\":{\"_meta\":" + Meta + "}}"));

    /// <summary>What a 2026-07-28 client puts in every request's <c>params._meta</c> (the SDK's stdio server insists on the capabilities).</summary>
    private const string Meta = "{\"io.modelcontextprotocol/protocolVersion\":\"" + ProtocolVersion + "\",\"io.modelcontextprotocol/clientCapabilities\":{}}";

    private static string CallJson(string tool, string text) =>
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"" + tool + "\",\"arguments\":{\"text\":\"" + text
        + "\"},\"_meta\":" + Meta + "}}";

    public HttpRequestMessage Create(Uri baseUrl, Version version)
    {
        var message = new HttpRequestMessage(HttpMethod.Post, new Uri(baseUrl, Path))
        {
            Version = version,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent(Body),
        };
        message.Content.Headers.TryAddWithoutValidation("Content-Type", "application/json");
        message.Headers.TryAddWithoutValidation("Accept", "application/json, text/event-stream");
        message.Headers.TryAddWithoutValidation("MCP-Protocol-Version", ProtocolVersion);
        message.Headers.TryAddWithoutValidation("Mcp-Method", Method);
        if (Name is not null)
        {
            message.Headers.TryAddWithoutValidation("Mcp-Name", Name);
        }
        return message;
    }
}
