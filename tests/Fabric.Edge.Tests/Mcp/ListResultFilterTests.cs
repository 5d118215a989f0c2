using System.Text;
using System.Text.Json;
using Fabric.Contracts.Policy;
using Fabric.Edge.Mcp;
using Fabric.Edge.Tests.Fixtures;

namespace Fabric.Edge.Tests.Mcp;

public sealed class ListResultFilterTests
{
    private const string Json = "application/json";
    private const string Sse = "text/event-stream";

    private static readonly HashSet<(McpCallKind, string)> Visible =
    [
        (McpCallKind.Tool, "echo"), (McpCallKind.Tool, "add"),
        (McpCallKind.Resource, "file:///readme.txt"), (McpCallKind.Resource, "file:///logs/{name}"),
        (McpCallKind.Prompt, "summarize"),
    ];

    private static bool IsVisible(McpCallKind kind, string name) => Visible.Contains((kind, name));

    private static string Filter(string body, string? contentType) =>
        Encoding.UTF8.GetString(ListResultFilter.Filter(Encoding.UTF8.GetBytes(body), contentType, IsVisible));

    public static TheoryData<string, string> JsonBodies => new()
    {
        // tools by name; nextCursor, _meta, ttl hints and member order stay as they were.
        {
            """{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"echo"},{"name":"delete_all_files","inputSchema":{}},{"name":"add"}],"nextCursor":"c2","_meta":{"k":"v"}}}""",
            """{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"echo"},{"name":"add"}],"nextCursor":"c2","_meta":{"k":"v"}}}"""
        },
        // Nothing to drop: identical bytes, whitespace included.
        {
            """{ "jsonrpc" : "2.0", "id" : 1, "result" : { "tools" : [ {"name":"echo"} ,  {"name":"add"} ] } }""",
            """{ "jsonrpc" : "2.0", "id" : 1, "result" : { "tools" : [ {"name":"echo"} ,  {"name":"add"} ] } }"""
        },
        // Cuts take the separator with them, wherever the cut item sits.
        {
            """{"result":{"tools":[ {"name":"x1"}, {"name":"echo"}, {"name":"x2"}, {"name":"x3"}, {"name":"add"}, {"name":"x4"} ]},"id":1,"jsonrpc":"2.0"}""",
            """{"result":{"tools":[ {"name":"echo"}, {"name":"add"} ]},"id":1,"jsonrpc":"2.0"}"""
        },
        {
            """{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"x1"},{"name":"x2"}],"nextCursor":null}}""",
            """{"jsonrpc":"2.0","id":1,"result":{"tools":[],"nextCursor":null}}"""
        },
        {
            """{"jsonrpc":"2.0","id":1,"result":{"tools":[]}}""",
            """{"jsonrpc":"2.0","id":1,"result":{"tools":[]}}"""
        },
        // resources by uri (not by their display name), templates by uriTemplate, prompts by name.
        {
            """{"jsonrpc":"2.0","id":1,"result":{"resources":[{"name":"readme","uri":"file:///readme.txt"},{"name":"file:///readme.txt","uri":"file:///secrets.txt"}]}}""",
            """{"jsonrpc":"2.0","id":1,"result":{"resources":[{"name":"readme","uri":"file:///readme.txt"}]}}"""
        },
        {
            """{"jsonrpc":"2.0","id":1,"result":{"resourceTemplates":[{"name":"log","uriTemplate":"file:///logs/{name}"},{"name":"db","uriTemplate":"db://{table}"}]}}""",
            """{"jsonrpc":"2.0","id":1,"result":{"resourceTemplates":[{"name":"log","uriTemplate":"file:///logs/{name}"}]}}"""
        },
        {
            """{"jsonrpc":"2.0","id":1,"result":{"prompts":[{"name":"admin_prompt"},{"name":"summarize","arguments":[{"name":"admin_prompt"}]}]}}""",
            """{"jsonrpc":"2.0","id":1,"result":{"prompts":[{"name":"summarize","arguments":[{"name":"admin_prompt"}]}]}}"""
        },
        // A kind is matched against its own rules only: a tool called "summarize" is not a prompt.
        {
            """{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"summarize"}],"prompts":[{"name":"echo"}]}}""",
            """{"jsonrpc":"2.0","id":1,"result":{"tools":[],"prompts":[]}}"""
        },
        // Fail closed: no name, a non-string name, a non-object item, two names.
        {
            """{"jsonrpc":"2.0","id":1,"result":{"tools":[{"title":"echo"},{"name":7},{"name":null},"echo",["echo"],{"name":"echo","name":"delete_all_files"},{"name":"add"}]}}""",
            """{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"add"}]}}"""
        },
        // Only the item's own name counts, not one nested in its schema; escapes are unescaped.
        {
            """{"jsonrpc":"2.0","id":1,"result":{"tools":[{"inputSchema":{"properties":{"name":{"type":"string"}},"name":"echo"},"name":"delete_all_files"},{"name":"ech\u006f"}]}}""",
            """{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"ech\u006f"}]}}"""
        },
        // A list that is not an array becomes an empty one.
        {
            """{"jsonrpc":"2.0","id":1,"result":{"tools":{"name":"delete_all_files"},"nextCursor":"n"}}""",
            """{"jsonrpc":"2.0","id":1,"result":{"tools":[],"nextCursor":"n"}}"""
        },
        // Errors and results without lists pass untouched.
        {
            """{"jsonrpc":"2.0","id":1,"error":{"code":-32601,"message":"tools","data":{"tools":[{"name":"x"}]}}}""",
            """{"jsonrpc":"2.0","id":1,"error":{"code":-32601,"message":"tools","data":{"tools":[{"name":"x"}]}}}"""
        },
        {
            """{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"tools"}],"structuredContent":{"tools":[{"name":"x"}]}}}""",
            """{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"tools"}],"structuredContent":{"tools":[{"name":"x"}]}}}"""
        },
        // A response under another id is filtered too: nothing in a list answer passes unfiltered.
        {
            """{"jsonrpc":"2.0","id":99,"result":{"tools":[{"name":"delete_all_files"},{"name":"echo"}]}}""",
            """{"jsonrpc":"2.0","id":99,"result":{"tools":[{"name":"echo"}]}}"""
        },
        // A batch-shaped answer (2025-03-26 clients still read one) is filtered element by element.
        {
            """[{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"delete_all_files"},{"name":"add"}]}},7,{"jsonrpc":"2.0","id":2,"result":{"prompts":[{"name":"admin_prompt"}]}}]""",
            """[{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"add"}]}},7,{"jsonrpc":"2.0","id":2,"result":{"prompts":[]}}]"""
        },
        // Duplicate result members: both are filtered.
        {
            """{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"echo"}]},"result":{"tools":[{"name":"delete_all_files"}]}}""",
            """{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"echo"}]},"result":{"tools":[]}}"""
        },
    };

    [Theory]
    [MemberData(nameof(JsonBodies))]
    public void Filters_json_bodies(string body, string expected) =>
        Assert.Equal(expected, Filter(body, Json));

    [Theory]
    [InlineData("application/json; charset=utf-8")]
    [InlineData("Application/JSON")]
    [InlineData("application/vnd.mcp+json")]
    public void Recognises_json_media_types(string contentType) =>
        Assert.Equal(
            """{"id":1,"result":{"tools":[]}}""",
            Filter("""{"id":1,"result":{"tools":[{"name":"delete_all_files"}]}}""", contentType));

    [Theory]
    [InlineData(null)]
    [InlineData("text/plain")]
    [InlineData("application/octet-stream")]
    public void Other_media_types_are_refused_whole(string? contentType)
    {
        var output = new System.Buffers.ArrayBufferWriter<byte>();
        var stats = ListResultFilter.Filter("""{"id":1,"result":{"tools":[{"name":"delete_all_files"}]}}"""u8, contentType, IsVisible, output);

        Assert.True(stats.Refused);
        Assert.Equal(0, output.WrittenCount);
    }

    [Theory]
    [InlineData("""{"id":1,"result":{"tools":[{"name":"delete_all_files"},]}}""")]
    [InlineData("""{"id":1,"result":{"tools":[{"name":"delete_all_files"}]}""")]
    [InlineData("")]
    public void Unparsable_json_is_refused_whole(string body)
    {
        var output = new System.Buffers.ArrayBufferWriter<byte>();
        var stats = ListResultFilter.Filter(Encoding.UTF8.GetBytes(body), Json, IsVisible, output);

        Assert.True(stats.Refused);
        Assert.Equal(0, output.WrittenCount);
    }

    [Fact]
    public void Reports_what_it_kept_and_removed()
    {
        var output = new System.Buffers.ArrayBufferWriter<byte>();
        var stats = ListResultFilter.Filter(
            """{"id":1,"result":{"tools":[{"name":"echo"},{"name":"x"},{}],"prompts":[{"name":"summarize"}]}}"""u8, Json, IsVisible, output);

        Assert.Equal(new ListFilterStats(Kept: 2, Removed: 2, Malformed: false), stats);
    }

    [Fact]
    public void Asks_with_the_kind_and_unescaped_name()
    {
        var asked = new List<(McpCallKind, string)>();
        ListResultFilter.Filter(
            """{"id":1,"result":{"tools":[{"name":"a\/b"}],"resources":[{"uri":"r"}],"resourceTemplates":[{"uriTemplate":"t/{x}"}],"prompts":[{"name":"p"}]}}"""u8,
            Json, (kind, name) => { asked.Add((kind, name)); return true; });

        Assert.Equal([(McpCallKind.Tool, "a/b"), (McpCallKind.Resource, "r"), (McpCallKind.Resource, "t/{x}"), (McpCallKind.Prompt, "p")], asked);
    }

    [Fact]
    public void Filters_a_single_sse_event_as_the_sdk_writes_it()
    {
        const string Body = "event: message\n"
            + """data: {"result":{"tools":[{"name":"echo"},{"name":"delete_all_files"}],"ttlMs":0,"cacheScope":"private","resultType":"complete"},"id":2,"jsonrpc":"2.0"}""" + "\n\n";

        Assert.Equal(
            "event: message\n"
            + """data: {"result":{"tools":[{"name":"echo"}],"ttlMs":0,"cacheScope":"private","resultType":"complete"},"id":2,"jsonrpc":"2.0"}""" + "\n\n",
            Filter(Body, Sse));
    }

    [Fact]
    public void Keeps_every_event_comment_id_and_retry_byte_for_byte_but_the_lists()
    {
        var notification = """data: {"method":"notifications/progress","params":{"progressToken":"p","progress":1,"tools":[{"name":"x"}]},"jsonrpc":"2.0"}""";
        var request = """data: {"method":"sampling/createMessage","params":{"tools":[{"name":"x"}]},"id":"s1","jsonrpc":"2.0"}""";
        var body = ": keep-alive\r\n\r\n"
            + "retry: 1000\r\nid: e1\r\ndata:\r\n\r\n"
            + "event: message\r\nid: e2\r\n" + notification + "\r\n\r\n"
            + "event: message\r\n" + request + "\r\n\r\n"
            + "id: e3\r\n: comment in the event\r\nevent: message\r\n"
            + """data: {"result":{"tools":[{"name":"delete_all_files"},{"name":"add"}]},"id":3,"jsonrpc":"2.0"}""" + "\r\nretry: 5\r\n\r\n"
            + ": trailing comment\r\n";

        // A tools array in params is filtered like one in a result (issue 9 §1, "Lists").
        var expected = ": keep-alive\r\n\r\n"
            + "retry: 1000\r\nid: e1\r\ndata:\r\n\r\n"
            + "event: message\r\nid: e2\r\n" + notification.Replace("[{\"name\":\"x\"}]", "[]", StringComparison.Ordinal) + "\r\n\r\n"
            + "event: message\r\n" + request.Replace("[{\"name\":\"x\"}]", "[]", StringComparison.Ordinal) + "\r\n\r\n"
            + "id: e3\r\n: comment in the event\r\nevent: message\r\n"
            + """data: {"result":{"tools":[{"name":"add"}]},"id":3,"jsonrpc":"2.0"}""" + "\r\nretry: 5\r\n\r\n"
            + ": trailing comment\r\n";
        Assert.Equal(expected, Filter(body, Sse));
    }

    [Fact]
    public void Joins_multi_line_data_and_keeps_it_multi_line()
    {
        var body = "event: message\n"
            + "data: {\"jsonrpc\":\"2.0\",\"id\":4,\n"
            + "data:\"result\":{\"prompts\":[\n"
            + "data:  {\"name\":\"admin_prompt\"},\n"
            + "data:  {\"name\":\"summarize\"}\n"
            + "data: ]}}\n"
            + "\n";

        var filtered = Filter(body, Sse);

        Assert.Equal(
            "event: message\n"
            + "data: {\"jsonrpc\":\"2.0\",\"id\":4,\n"
            + "data: \"result\":{\"prompts\":[\n"
            + "data:  {\"name\":\"summarize\"}\n"
            + "data: ]}}\n"
            + "\n",
            filtered);
        Assert.Equal(["summarize"], Names(SseData(filtered).Single(), "prompts", "name"));
    }

    [Theory]
    [InlineData("\n")]
    [InlineData("\r")]
    [InlineData("\r\n")]
    public void Understands_every_sse_line_ending(string eol)
    {
        var body = "event: message" + eol + """data: {"id":1,"result":{"tools":[{"name":"x"},{"name":"echo"}]}}""" + eol + eol;

        Assert.Equal("event: message" + eol + """data: {"id":1,"result":{"tools":[{"name":"echo"}]}}""" + eol + eol, Filter(body, Sse));
    }

    [Fact]
    public void A_last_event_without_its_blank_line_is_still_filtered()
    {
        Assert.Equal(
            """data: {"id":1,"result":{"tools":[]}}""",
            Filter("""data: {"id":1,"result":{"tools":[{"name":"delete_all_files"}]}}""", Sse));
    }

    [Fact]
    public void A_byte_order_mark_is_kept_and_ignored()
    {
        Assert.Equal(
            "\uFEFFdata: {\"id\":1,\"result\":{\"tools\":[]}}\n\n",
            Filter("\uFEFFdata: {\"id\":1,\"result\":{\"tools\":[{\"name\":\"x\"}]}}\n\n", Sse));
    }

    [Fact]
    public void An_unparsable_event_refuses_the_whole_answer()
    {
        var output = new System.Buffers.ArrayBufferWriter<byte>();
        var body = "event: message\ndata: {\"id\":1,\"result\":{\"tools\":[{\"name\":\"echo\"}]}}\n\n"
            + "event: message\ndata: {\"id\":1,\"result\":{\"tools\":[{\"name\":\"delete_all_files\"}\n\n";

        var stats = ListResultFilter.Filter(Encoding.UTF8.GetBytes(body), Sse, IsVisible, output);

        Assert.True(stats.Refused);
    }

    [Fact]
    public void Lists_in_params_are_filtered_like_lists_in_a_result()
    {
        var body = "event: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\",\"params\":{\"tools\":[{\"name\":\"delete_all_files\"},{\"name\":\"echo\"}]}}\n\n";

        Assert.Equal("event: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\",\"params\":{\"tools\":[{\"name\":\"echo\"}]}}\n\n", Filter(body, Sse));
    }

    [Fact]
    public void Data_that_only_looks_like_a_field_is_not_one()
    {
        // "database:" and "data" lines: only a field named exactly "data" carries payload (a line without a
        // colon is a field with an empty value).
        var body = "database: {\"id\":1,\"result\":{\"tools\":[{\"name\":\"x\"}]}}\n"
            + "data\n"
            + "data: {\"id\":1,\"result\":{\"tools\":[{\"name\":\"x\"}]}}\n\n";

        var filtered = Filter(body, Sse);

        Assert.Equal("database: {\"id\":1,\"result\":{\"tools\":[{\"name\":\"x\"}]}}\ndata: \ndata: {\"id\":1,\"result\":{\"tools\":[]}}\n\n", filtered);
    }

    [Theory]
    [InlineData(ProtocolGeneration.Stateless2026)]
    [InlineData(ProtocolGeneration.Sessions2025)]
    public async Task Filters_tools_list_captured_from_the_real_sdk_server(ProtocolGeneration generation)
    {
        await using var server = await TestMcpServer.StartAsync();
        using var http = McpClients.CreateHttpClient();
        string body;
        Dictionary<string, string> headers;
        if (generation == ProtocolGeneration.Stateless2026)
        {
            body = McpClients.StatelessRequest(41, "tools/list");
            headers = McpClients.StatelessHeaders("tools/list");
        }
        else
        {
            var session = await McpClients.InitializeSessionAsync(http, server.Endpoint);
            body = """{"jsonrpc":"2.0","id":41,"method":"tools/list"}""";
            headers = McpClients.SessionHeaders(session);
        }

        using var response = await McpClients.PostAsync(http, server.Endpoint, body, headers);
        var captured = await response.Content.ReadAsByteArrayAsync();
        var contentType = response.Content.Headers.ContentType!.ToString();

        var filtered = Encoding.UTF8.GetString(ListResultFilter.Filter(captured, contentType, IsVisible));

        var original = Encoding.UTF8.GetString(captured);
        Assert.Equal(Sse, response.Content.Headers.ContentType.MediaType);
        Assert.Equal(["echo", "add", "delete_all_files", "read_file", "whoami", "progress"], Names(SseData(original).Single(), "tools", "name"));
        Assert.Equal(["echo", "add"], Names(SseData(filtered).Single(), "tools", "name"));
        // Only the cut items differ: everything around the list (ttlMs, cacheScope, _meta, id) is intact.
        var before = JsonDocument.Parse(SseData(original).Single()).RootElement;
        var after = JsonDocument.Parse(SseData(filtered).Single()).RootElement;
        Assert.Equal(before.GetProperty("id").GetRawText(), after.GetProperty("id").GetRawText());
        Assert.Equal(
            before.GetProperty("result").EnumerateObject().Select(p => p.Name),
            after.GetProperty("result").EnumerateObject().Select(p => p.Name));
        Assert.StartsWith("event: message\n", filtered, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("resources/list", "resources", "uri", new[] { "file:///readme.txt" })]
    [InlineData("resources/templates/list", "resourceTemplates", "uriTemplate", new[] { "file:///logs/{name}" })]
    [InlineData("prompts/list", "prompts", "name", new[] { "summarize" })]
    public async Task Filters_resource_template_and_prompt_lists_from_the_real_sdk_server(string method, string property, string nameProperty, string[] expected)
    {
        await using var server = await TestMcpServer.StartAsync();
        using var http = McpClients.CreateHttpClient();
        using var response = await McpClients.PostAsync(http, server.Endpoint, McpClients.StatelessRequest(5, method), McpClients.StatelessHeaders(method));
        var captured = await response.Content.ReadAsByteArrayAsync();

        var filtered = Encoding.UTF8.GetString(ListResultFilter.Filter(captured, response.Content.Headers.ContentType!.ToString(), IsVisible));

        Assert.True(Names(SseData(Encoding.UTF8.GetString(captured)).Single(), property, nameProperty).Count > expected.Length);
        Assert.Equal(expected, Names(SseData(filtered).Single(), property, nameProperty));
    }

    /// <summary>The data payloads of an SSE body, per the SSE interpretation rules, for assertions.</summary>
    private static List<string> SseData(string body)
    {
        var events = new List<string>();
        var data = new List<string>();
        foreach (var line in body.Replace("\r\n", "\n", StringComparison.Ordinal).Replace('\r', '\n').Split('\n'))
        {
            if (line.Length == 0)
            {
                if (data.Count > 0)
                {
                    events.Add(string.Join('\n', data));
                }

                data.Clear();
            }
            else if (line.StartsWith("data:", StringComparison.Ordinal))
            {
                var value = line[5..];
                data.Add(value.StartsWith(' ') ? value[1..] : value);
            }
        }

        return events;
    }

    private static List<string> Names(string json, string property, string nameProperty)
    {
        using var document = JsonDocument.Parse(json);
        return [.. document.RootElement.GetProperty("result").GetProperty(property).EnumerateArray().Select(i => i.GetProperty(nameProperty).GetString()!)];
    }
}
