using System.Text;
using Fabric.Edge.Mcp;
using Fabric.Edge.Tests.Fixtures;
using Microsoft.AspNetCore.Http;

namespace Fabric.Edge.Tests.Mcp;

public sealed class McpHeadersTests
{
    private const string ToolsCall = """{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hi"}}}""";
    private const string ToolsList = """{"jsonrpc":"2.0","id":1,"method":"tools/list"}""";
    private const string ResourcesRead = """{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"file:///readme.txt"}}""";
    private const string PromptsGet = """{"jsonrpc":"2.0","id":1,"method":"prompts/get","params":{"name":"summarize"}}""";
    private const string Subscribe = """{"jsonrpc":"2.0","id":1,"method":"resources/subscribe","params":{"uri":"file:///a"}}""";
    private const string Notification = """{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1}}""";
    private const string Response = """{"jsonrpc":"2.0","id":1,"result":{}}""";
    private const string Meta2026 = """{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}""";
    private const string Meta2025 = """{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2025-11-25"}}}""";

    // headers ("Name: value" lines joined with '|'), body, expected error fragment (null = consistent)
    public static TheoryData<string, string, string?> Cases => new()
    {
        // No headers, or 2025 generations: nothing is required.
        { "", ToolsCall, null },
        { "MCP-Protocol-Version: 2025-11-25", ToolsCall, null },
        { "MCP-Protocol-Version: 2025-06-18", Notification, null },
        // 2025-x SDK clients already mirror; what they mirror must still agree.
        { "MCP-Protocol-Version: 2025-11-25|Mcp-Method: tools/call|Mcp-Name: echo", ToolsCall, null },
        { "MCP-Protocol-Version: 2025-11-25|Mcp-Method: tools/list", ToolsCall, "Mcp-Method" },
        { "Mcp-Method: tools/call", ToolsList, "Mcp-Method" },
        // Values are case-sensitive (Request Metadata, "Case Sensitivity"); the SDK server agrees.
        { "Mcp-Method: Tools/Call|Mcp-Name: echo", ToolsCall, "Mcp-Method" },
        { "Mcp-Method: tools/call|Mcp-Name: Echo", ToolsCall, "Mcp-Name" },
        // 2026-07-28: Mcp-Method on every request and notification, Mcp-Name on the three named requests.
        { "MCP-Protocol-Version: 2026-07-28", ToolsList, "missing required Mcp-Method" },
        { "MCP-Protocol-Version: 2026-07-28", Notification, "missing required Mcp-Method" },
        { "MCP-Protocol-Version: 2026-07-28|Mcp-Method: tools/list", ToolsList, null },
        { "MCP-Protocol-Version: 2026-07-28|Mcp-Method: notifications/cancelled", Notification, null },
        { "MCP-Protocol-Version: 2026-07-28|Mcp-Method: tools/call", ToolsCall, "missing required Mcp-Name" },
        { "MCP-Protocol-Version: 2026-07-28|Mcp-Method: resources/read", ResourcesRead, "missing required Mcp-Name" },
        { "MCP-Protocol-Version: 2026-07-28|Mcp-Method: prompts/get", PromptsGet, "missing required Mcp-Name" },
        { "MCP-Protocol-Version: 2026-07-28|Mcp-Method: tools/call|Mcp-Name: echo", ToolsCall, null },
        { "MCP-Protocol-Version: 2026-07-28|Mcp-Method: resources/read|Mcp-Name: file:///readme.txt", ResourcesRead, null },
        { "MCP-Protocol-Version: 2026-07-28|Mcp-Method: prompts/get|Mcp-Name: summarize", PromptsGet, null },
        { "MCP-Protocol-Version: 2026-07-28|Mcp-Method: tools/call|Mcp-Name: add", ToolsCall, "Mcp-Name" },
        { "MCP-Protocol-Version: 2026-07-28|Mcp-Method: resources/read|Mcp-Name: file:///secrets.txt", ResourcesRead, "Mcp-Name" },
        // Later and non-date versions are held to the 2026-07-28 rule (the strict side).
        { "MCP-Protocol-Version: 2027-01-01", ToolsList, "missing required Mcp-Method" },
        { "MCP-Protocol-Version: DRAFT-2026-v1", ToolsList, "missing required Mcp-Method" },
        // Base64 sentinel ("Value Encoding"): decoded before comparing; markers are case-sensitive.
        { "Mcp-Method: tools/call|Mcp-Name: =?base64?ZWNobw==?=", ToolsCall, null },
        { "Mcp-Method: tools/call|Mcp-Name: =?base64?YWRk?=", ToolsCall, "Mcp-Name" },
        { "Mcp-Method: tools/call|Mcp-Name: =?base64?not base64!?=", ToolsCall, "Base64" },
        { "Mcp-Method: tools/call|Mcp-Name: =?BASE64?ZWNobw==?=", ToolsCall, "Mcp-Name" },
        // A name where the body has none, and a method on a response, disagree with the body.
        { "Mcp-Method: tools/list|Mcp-Name: echo", ToolsList, "Mcp-Name" },
        { "Mcp-Method: tools/list", Response, "Mcp-Method" },
        { "MCP-Protocol-Version: 2026-07-28", Response, null },
        // resources/subscribe (2025-x) names its uri; a header there is compared, never required.
        { "MCP-Protocol-Version: 2026-07-28|Mcp-Method: resources/subscribe", Subscribe, null },
        { "Mcp-Method: resources/subscribe|Mcp-Name: file:///b", Subscribe, "Mcp-Name" },
        // Header and _meta protocol versions must agree ("Protocol Version Header").
        { "MCP-Protocol-Version: 2026-07-28|Mcp-Method: tools/list", Meta2026, null },
        { "MCP-Protocol-Version: 2026-07-28|Mcp-Method: tools/list", Meta2025, "MCP-Protocol-Version" },
        // A repeated mirrored header leaves each hop to pick a copy.
        { "Mcp-Method: tools/call|Mcp-Method: tools/call|Mcp-Name: echo", ToolsCall, "repeated" },
        { "Mcp-Method: tools/call|Mcp-Name: echo|Mcp-Name: add", ToolsCall, "repeated" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Checks_mirrored_headers_against_the_body(string headerLines, string json, string? expected)
    {
        var headers = new HeaderDictionary();
        foreach (var line in headerLines.Split('|', StringSplitOptions.RemoveEmptyEntries))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            var name = line[..colon];
            headers[name] = Microsoft.Extensions.Primitives.StringValues.Concat(headers[name], line[(colon + 1)..].Trim());
        }

        var error = McpHeaders.CheckConsistency(headers, Parse(json));

        if (expected is null)
        {
            Assert.Null(error);
        }
        else
        {
            Assert.NotNull(error);
            Assert.Contains(expected, error, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("2024-11-05", false)]
    [InlineData("2025-06-18", false)]
    [InlineData("2025-11-25", false)]
    [InlineData("2026-07-28", true)]
    [InlineData("2026-12-01", true)]
    [InlineData("draft", true)]
    public void Header_mirroring_starts_with_2026_07_28(string version, bool requires) =>
        Assert.Equal(requires, McpHeaders.RequiresMirroring(version));

    [Theory]
    [InlineData("echo", "echo")]
    [InlineData("=?base64?d2VhdGhlci/mnbHkuqw=?=", "weather/東京")]
    [InlineData("=?base64??=", "")]
    [InlineData("=?base64?", "=?base64?")]
    [InlineData("=?base64?/w==?=", null)]
    public void Decodes_the_base64_sentinel(string value, string? expected) =>
        Assert.Equal(expected, McpHeaders.DecodeName(value));

    [Theory]
    [InlineData(ProtocolGeneration.Stateless2026)]
    [InlineData(ProtocolGeneration.Sessions2025)]
    public async Task Everything_the_real_sdk_client_sends_is_consistent(ProtocolGeneration generation)
    {
        await using var server = await TestMcpServer.StartAsync();
        await using (var connected = await McpClients.ConnectAsync(server.Endpoint, generation))
        {
            await connected.Client.ListToolsAsync();
            await connected.Client.CallToolAsync("echo", new Dictionary<string, object?> { ["text"] = "hi" });
            await connected.Client.ReadResourceAsync("file:///readme.txt");
            await connected.Client.GetPromptAsync("summarize", new Dictionary<string, object?> { ["text"] = "t" });
        }

        var posts = server.Requests.Where(r => r.Method == "POST").ToList();
        Assert.Contains(posts, p => p.Header(McpHeaders.Name) == "file:///readme.txt");
        foreach (var post in posts)
        {
            var headers = new HeaderDictionary(post.Headers.ToDictionary(h => h.Key, h => new Microsoft.Extensions.Primitives.StringValues(h.Value)));
            Assert.Null(McpHeaders.CheckConsistency(headers, Parse(post.Body)));
        }
    }

    private static McpMessage Parse(string json)
    {
        var outcome = McpMessageReader.Parse(Encoding.UTF8.GetBytes(json));
        Assert.Equal(McpReadStatus.Ok, outcome.Status);
        return outcome.Message!;
    }
}
