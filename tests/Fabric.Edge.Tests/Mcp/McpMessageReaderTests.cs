using System.Text;
using Fabric.Contracts.Policy;
using Fabric.Edge.Mcp;

namespace Fabric.Edge.Tests.Mcp;

public sealed class McpMessageReaderTests
{
    private const int Max = 64 * 1024;

    private static async Task<McpReadResult> ReadAsync(string json, int maxBytes = Max, bool declareLength = true)
    {
        var bytes = Encoding.UTF8.GetBytes(json);
        return await McpMessageReader.ReadAsync(new MemoryStream(bytes), declareLength ? bytes.Length : null, maxBytes, CancellationToken.None);
    }

    // kind, raw id, method, name
    public static TheoryData<string, string, string?, string?, string?> Messages => new()
    {
        { """{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hi"}}}""", "Request", "1", "tools/call", "echo" },
        { """{"jsonrpc":"2.0","id":"abc","method":"tools/list"}""", "Request", "\"abc\"", "tools/list", null },
        { """{"jsonrpc":"2.0","id":"a\u0062\"c","method":"ping"}""", "Request", "\"a\\u0062\\\"c\"", "ping", null },
        { """{"jsonrpc":"2.0","id":-12345678901234567890,"method":"ping"}""", "Request", "-12345678901234567890", "ping", null },
        { """{"jsonrpc":"2.0","id":0,"method":"tools/list","params":{"cursor":"x"}}""", "Request", "0", "tools/list", null },
        { """{"jsonrpc":"2.0","method":"notifications/initialized"}""", "Notification", null, "notifications/initialized", null },
        { """{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":3}}""", "Notification", null, "notifications/cancelled", null },
        { """{"jsonrpc":"2.0","id":2,"method":"resources/read","params":{"uri":"file:///readme.txt"}}""", "Request", "2", "resources/read", "file:///readme.txt" },
        { """{"jsonrpc":"2.0","id":3,"method":"resources/subscribe","params":{"uri":"file:///a"}}""", "Request", "3", "resources/subscribe", "file:///a" },
        { """{"jsonrpc":"2.0","id":4,"method":"resources/unsubscribe","params":{"uri":"file:///a","name":"ignored"}}""", "Request", "4", "resources/unsubscribe", "file:///a" },
        { """{"jsonrpc":"2.0","id":5,"method":"prompts/get","params":{"name":"summarize","arguments":{"text":"t"}}}""", "Request", "5", "prompts/get", "summarize" },
        { """{"jsonrpc":"2.0","id":6,"method":"initialize","params":{"name":"not-a-tool","protocolVersion":"2025-11-25"}}""", "Request", "6", "initialize", null },
        { """{"jsonrpc":"2.0","id":7,"method":"server/discover","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}""", "Request", "7", "server/discover", null },
        // Member order is free (the SDK itself writes method, params, id, jsonrpc).
        { """{"params":{"arguments":{},"name":"add"},"method":"tools/call","id":8,"jsonrpc":"2.0"}""", "Request", "8", "tools/call", "add" },
        // Escaped member names and values mean what they unescape to — as they do to the upstream's parser.
        { """{"jsonrpc":"2.0","id":9,"meth\u006fd":"tools/call","params":{"n\u0061me":"ech\u006f"}}""", "Request", "9", "tools/call", "echo" },
        { """  {"jsonrpc":"2.0","id":10,"method":"ping","extra":{"deep":[1,2,{"x":null}]}}  """, "Request", "10", "ping", null },
        { """{"jsonrpc":"2.0","id":11,"result":{"tools":[]}}""", "Response", "11", null, null },
        { """{"jsonrpc":"2.0","id":"s-1","error":{"code":-1,"message":"no"}}""", "Response", "\"s-1\"", null, null },
        { """{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"parse"}}""", "Response", null, null, null },
        { """{"jsonrpc":"2.0","id":1,"method":"Tools/Call","params":{}}""", "Request", "1", "Tools/Call", null },
    };

    [Theory]
    [MemberData(nameof(Messages))]
    public async Task Reads_the_kind_id_method_and_name(string json, string kind, string? rawId, string? method, string? name)
    {
        using var result = await ReadAsync(json);

        Assert.True(result.IsOk, result.ErrorMessage);
        Assert.Equal(kind, result.Message.Kind.ToString());
        Assert.Equal(rawId, result.Message.RawId);
        Assert.Equal(method, result.Message.Method);
        Assert.Equal(name, result.Message.Name);
        Assert.Equal(json, Encoding.UTF8.GetString(result.Body.Span));
    }

    // status, JSON-RPC code, raw id echoed in the error
    public static TheoryData<string, string, int, string?> Rejections => new()
    {
        { "", "Invalid", -32700, null },
        { "   ", "Invalid", -32700, null },
        { "{", "Invalid", -32700, null },
        { "not json", "Invalid", -32700, null },
        { """{"jsonrpc":"2.0","id":1,"method":"ping"} {}""", "Invalid", -32700, null },
        { """{"jsonrpc":"2.0","id":1,"method":"ping"}x""", "Invalid", -32700, null },
        { """{"jsonrpc":"2.0",/*c*/"id":1,"method":"ping"}""", "Invalid", -32700, null },
        { """{"jsonrpc":"2.0","id":1,"method":"ping",}""", "Invalid", -32700, null },
        { """[{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","id":2,"method":"ping"}]""", "Batch", -32600, null },
        { "[]", "Batch", -32600, null },
        { "42", "Invalid", -32600, null },
        { "\"tools/call\"", "Invalid", -32600, null },
        { """{"id":1,"method":"ping"}""", "Invalid", -32600, "1" },
        { """{"jsonrpc":"1.0","id":1,"method":"ping"}""", "Invalid", -32600, "1" },
        { """{"jsonrpc":2.0,"id":1,"method":"ping"}""", "Invalid", -32600, "1" },
        { """{"jsonrpc":"2.0","id":null,"method":"ping"}""", "Invalid", -32600, null },
        { """{"jsonrpc":"2.0","id":true,"method":"ping"}""", "Invalid", -32600, null },
        { """{"jsonrpc":"2.0","id":{"a":1},"method":"ping"}""", "Invalid", -32600, null },
        { """{"jsonrpc":"2.0","id":1,"method":7}""", "Invalid", -32600, "1" },
        { """{"jsonrpc":"2.0","id":1,"method":"ping","result":{}}""", "Invalid", -32600, "1" },
        { """{"jsonrpc":"2.0","id":1,"result":{},"error":{"code":1,"message":"x"}}""", "Invalid", -32600, "1" },
        { """{"jsonrpc":"2.0","id":1}""", "Invalid", -32600, "1" },
        { """{"jsonrpc":"2.0","result":{}}""", "Invalid", -32600, null },
        // Valid JSON grammar that decodes to no Unicode text: a lone surrogate, in a name or a key.
        { """{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"\uD800"}}""", "Invalid", -32700, null },
        { """{"jsonrpc":"2.0","id":1,"method":"ping","\uDC00":1}""", "Invalid", -32700, null },
        // Duplicates of members the edge does not read, and deep in the arguments it renders.
        { """{"jsonrpc":"2.0","id":1,"method":"ping","x":1,"x":2}""", "Invalid", -32600, "1" },
        { """{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a","cursor":1,"cursor":2}}""", "Invalid", -32602, "1" },
        { """{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a","arguments":{"p":{"a":"/tmp","a":"/etc"}}}}""", "Invalid", -32602, "1" },
        // A response with params is a request in disguise for whichever parser keys on params.
        { """{"jsonrpc":"2.0","id":5,"result":{},"params":{"name":"delete_all_files"}}""", "Invalid", -32600, "5" },
        { """{"jsonrpc":"2.0","id":5,"error":{"code":1,"message":"x"},"params":{}}""", "Invalid", -32600, "5" },
        // Duplicate members: the edge could decide on one copy while the upstream executes the other.
        { """{"jsonrpc":"2.0","id":1,"method":"tools/list","method":"tools/call","params":{"name":"x"}}""", "Invalid", -32600, "1" },
        { """{"jsonrpc":"2.0","id":1,"id":2,"method":"ping"}""", "Invalid", -32600, "2" },
        { """{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a"},"params":{"name":"b"}}""", "Invalid", -32600, "1" },
        { """{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"read_file","n\u0061me":"delete_all_files"}}""", "Invalid", -32602, "1" },
        { """{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","arguments":{"path":"/ok","path":"/etc"}}}""", "Invalid", -32602, "1" },
        // The name the decision needs is missing or not a string.
        { """{"jsonrpc":"2.0","id":7,"method":"tools/call"}""", "Invalid", -32602, "7" },
        { """{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{}}""", "Invalid", -32602, "7" },
        { """{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":42}}""", "Invalid", -32602, "7" },
        { """{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":null}}""", "Invalid", -32602, "7" },
        { """{"jsonrpc":"2.0","id":7,"method":"tools/call","params":["echo"]}""", "Invalid", -32602, "7" },
        { """{"jsonrpc":"2.0","id":"q","method":"resources/read","params":{"name":"readme"}}""", "Invalid", -32602, "\"q\"" },
        { """{"jsonrpc":"2.0","id":7,"method":"prompts/get","params":{"arguments":{}}}""", "Invalid", -32602, "7" },
        { """{"jsonrpc":"2.0","method":"tools/call","params":{}}""", "Invalid", -32602, null },
        { """{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"x","arguments":["a"]}}""", "Invalid", -32602, "7" },
        { """{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"x","arguments":"a=b"}}""", "Invalid", -32602, "7" },
    };

    [Theory]
    [InlineData(new byte[] { 0xFF })]
    [InlineData(new byte[] { 0xC0, 0xAF })]             // overlong '/'
    [InlineData(new byte[] { 0xED, 0xA0, 0x80 })]       // a UTF-16 surrogate encoded in UTF-8
    [InlineData(new byte[] { 0xE2, 0x82 })]             // truncated sequence
    public async Task Invalid_utf8_anywhere_is_a_parse_error(byte[] bad)
    {
        foreach (var (before, after) in new[] { ("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"ec", "ho\"}}"),
            ("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"x\":\"", "\"}") })
        {
            var body = new List<byte>(Encoding.UTF8.GetBytes(before));
            body.AddRange(bad);
            body.AddRange(Encoding.UTF8.GetBytes(after));
            using var result = await McpMessageReader.ReadAsync(new MemoryStream(body.ToArray()), body.Count, 4096, CancellationToken.None);

            Assert.Equal(McpReadStatus.Invalid, result.Status);
            Assert.Equal(-32700, result.ErrorCode);
        }
    }

    [Theory]
    [MemberData(nameof(Rejections))]
    public async Task Rejects_what_is_not_one_valid_message(string json, string status, int code, string? rawId)
    {
        using var result = await ReadAsync(json);

        Assert.False(result.IsOk);
        Assert.Equal(status, result.Status.ToString());
        Assert.Equal(code, result.ErrorCode);
        Assert.Equal(rawId, result.RawId);
        Assert.False(string.IsNullOrWhiteSpace(result.ErrorMessage));
    }

    [Fact]
    public async Task Renders_arguments_strings_as_values_and_everything_else_as_raw_json()
    {
        const string Json = """
            {"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t","arguments":{
              "s":"x\u0041\n","n":1.50,"i":-7,"b":true,"f":false,"z":null,"o":{"a": [1, 2]},"arr":[1,"x"],"e":""}}}
            """;
        using var result = await ReadAsync(Json);

        Assert.True(result.IsOk, result.ErrorMessage);
        var arguments = result.Message.Arguments!;
        Assert.Equal("xA\n", arguments["s"]);
        Assert.Equal("1.50", arguments["n"]);
        Assert.Equal("-7", arguments["i"]);
        Assert.Equal("true", arguments["b"]);
        Assert.Equal("false", arguments["f"]);
        Assert.Equal("null", arguments["z"]);
        Assert.Equal("""{"a": [1, 2]}""", arguments["o"]);
        Assert.Equal("""[1,"x"]""", arguments["arr"]);
        Assert.Equal("", arguments["e"]);
        Assert.Equal(9, arguments.Count);
    }

    [Theory]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t"}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t","arguments":null}}""")]
    public async Task Absent_or_null_arguments_are_null(string json)
    {
        using var result = await ReadAsync(json);

        Assert.True(result.IsOk, result.ErrorMessage);
        Assert.Null(result.Message.Arguments);
    }

    [Fact]
    public async Task Prompt_arguments_are_read_and_other_methods_arguments_are_not()
    {
        using var prompt = await ReadAsync("""{"jsonrpc":"2.0","id":1,"method":"prompts/get","params":{"name":"p","arguments":{"text":"t"}}}""");
        using var other = await ReadAsync("""{"jsonrpc":"2.0","id":1,"method":"completion/complete","params":{"arguments":{"text":"t"}}}""");

        Assert.Equal("t", prompt.Message!.Arguments!["text"]);
        Assert.Null(other.Message!.Arguments);
        Assert.Null(other.Message.Name);
    }

    [Theory]
    [InlineData(256, true)]
    [InlineData(257, false)]
    public async Task Arguments_are_bounded(int count, bool ok)
    {
        var arguments = string.Join(",", Enumerable.Range(0, count).Select(i => $"\"a{i}\":{i}"));
        using var result = await ReadAsync("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t","arguments":{""" + arguments + "}}}");

        Assert.Equal(ok, result.IsOk);
        if (ok)
        {
            Assert.Equal(count, result.Message!.Arguments!.Count);
        }
        else
        {
            Assert.Equal(JsonRpcErrors.InvalidParams, result.ErrorCode);
            Assert.Equal("1", result.RawId);
        }
    }

    [Fact]
    public async Task Reads_the_protocol_version_from_meta()
    {
        using var result = await ReadAsync("""
            {"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","_meta":{"progressToken":"p","io.modelcontextprotocol/protocolVersion":"2026-07-28","x":{"io.modelcontextprotocol/protocolVersion":"no"}}}}
            """);

        Assert.Equal("2026-07-28", result.Message!.MetaProtocolVersion);
    }

    [Fact]
    public async Task Too_large_by_content_length_is_refused_before_reading()
    {
        var result = await McpMessageReader.ReadAsync(new UnreadableStream(), contentLength: 101, maxBytes: 100, CancellationToken.None);

        Assert.Equal(McpReadStatus.TooLarge, result.Status);
        Assert.True(result.Body.IsEmpty);
        result.Dispose();
    }

    [Theory]
    [InlineData(100, 100, true)]
    [InlineData(101, 100, false)]
    [InlineData(5000, 4999, false)]
    [InlineData(70_000, 70_000, true)]
    [InlineData(70_001, 70_000, false)]
    public async Task Too_large_by_streamed_size_without_content_length(int size, int maxBytes, bool ok)
    {
        var body = Padded("""{"jsonrpc":"2.0","id":1,"method":"ping"}""", size);
        // Trickles 1..7 bytes per read, so the buffer grows through several rentals.
        using var result = await McpMessageReader.ReadAsync(new TrickleStream(body), contentLength: null, maxBytes, CancellationToken.None);

        Assert.Equal(ok ? McpReadStatus.Ok : McpReadStatus.TooLarge, result.Status);
        if (ok)
        {
            Assert.True(result.Body.Span.SequenceEqual(body));
        }
    }

    [Fact]
    public async Task A_content_length_under_the_limit_reads_the_whole_body()
    {
        var body = Padded("""{"jsonrpc":"2.0","id":1,"method":"ping"}""", 10_000);
        using var result = await McpMessageReader.ReadAsync(new TrickleStream(body), body.Length, 10_000, CancellationToken.None);

        Assert.True(result.IsOk);
        Assert.Equal(10_000, result.Body.Length);
    }

    [Fact]
    public async Task Dispose_returns_the_buffer_once()
    {
        var result = await ReadAsync("""{"jsonrpc":"2.0","id":1,"method":"ping"}""");
        Assert.False(result.Body.IsEmpty);

        result.Dispose();
        result.Dispose();

        Assert.True(result.Body.IsEmpty);
        Assert.Equal("ping", result.Message!.Method);
    }

    [Fact]
    public async Task ToCall_gives_the_policy_evaluator_method_name_and_arguments()
    {
        using var call = await ReadAsync("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"read_file","arguments":{"path":"/tmp"}}}""");
        using var response = await ReadAsync("""{"jsonrpc":"2.0","id":1,"result":{}}""");

        var toolCall = call.Message!.ToCall();
        Assert.Equal(new McpCall("tools/call", "read_file", toolCall.Arguments), toolCall);
        Assert.Equal("/tmp", toolCall.Arguments!["path"]);
        Assert.Equal(McpCallKind.Tool, McpMethods.Classify(toolCall.Method));

        var responseCall = response.Message!.ToCall();
        Assert.Equal(McpMessage.ResponseMethod, responseCall.Method);
        Assert.Equal(McpCallKind.Protocol, McpMethods.Classify(responseCall.Method));
    }

    [Fact]
    public async Task Reads_what_the_real_sdk_client_sends()
    {
        // Bodies captured from ModelContextProtocol 2.4.0 (see TestMcpServer): the SDK writes method first, id last.
        using var stateless = await ReadAsync("""
            {"method":"tools/call","params":{"name":"echo","arguments":{"text":"hi"},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientInfo":{"name":"testhost","version":"15.0.0.0"},"io.modelcontextprotocol/clientCapabilities":{}}},"id":3,"jsonrpc":"2.0"}
            """);
        using var session = await ReadAsync("""{"method":"notifications/initialized","params":{},"jsonrpc":"2.0"}""");

        Assert.Equal(("tools/call", "echo", "3", "2026-07-28"), (stateless.Message!.Method, stateless.Message.Name, stateless.Message.RawId, stateless.Message.MetaProtocolVersion));
        Assert.Equal("hi", stateless.Message.Arguments!["text"]);
        Assert.Equal(McpMessageKind.Notification, session.Message!.Kind);
    }

    private static byte[] Padded(string json, int size)
    {
        var bytes = new byte[size];
        bytes.AsSpan().Fill((byte)' ');
        Encoding.UTF8.GetBytes(json).CopyTo(bytes, 0);
        return bytes;
    }

    private sealed class TrickleStream(byte[] data) : MemoryStream(data)
    {
        private int _next = 1;

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var count = Math.Min(buffer.Length, _next);
            _next = _next % 7 + 1;
            return base.ReadAsync(buffer[..count], cancellationToken);
        }
    }

    private sealed class UnreadableStream : Stream
    {
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => throw new InvalidOperationException("must not read");
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
