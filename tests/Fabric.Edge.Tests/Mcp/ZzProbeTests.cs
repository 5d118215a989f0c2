using Fabric.Edge.Tests.Fixtures;
using Xunit.Abstractions;

namespace Fabric.Edge.Tests.Mcp;

public sealed class ZzProbeTests(ITestOutputHelper output)
{
    private async Task Dump(HttpClient http, Uri ep, string label, string body, Dictionary<string, string>? headers)
    {
        using var r = await McpClients.PostAsync(http, ep, body, headers);
        var text = await r.Content.ReadAsStringAsync();
        output.WriteLine($"=== {label}: {(int)r.StatusCode} {r.Content.Headers.ContentType} hdrs=[{string.Join("; ", r.Headers.Select(h => h.Key + "=" + string.Join(",", h.Value)))}]");
        output.WriteLine(text.Replace("\r", "\\r").Replace("\n", "\\n\n"));
    }

    [Fact]
    public async Task Probe()
    {
        await using var server = await TestMcpServer.StartAsync();
        using var http = McpClients.CreateHttpClient();
        var ep = server.Endpoint;
        await Dump(http, ep, "discover", McpClients.StatelessRequest(1, "server/discover"), McpClients.StatelessHeaders("server/discover"));
        await Dump(http, ep, "tools/list 2026", McpClients.StatelessRequest(2, "tools/list"), McpClients.StatelessHeaders("tools/list"));
        await Dump(http, ep, "tools/list 2026 no Mcp-Method", McpClients.StatelessRequest(3, "tools/list"), new() { ["MCP-Protocol-Version"] = "2026-07-28" });
        await Dump(http, ep, "tools/list 2026 with Mcp-Name", McpClients.StatelessRequest(4, "tools/list"), McpClients.StatelessHeaders("tools/list", "echo"));
        await Dump(http, ep, "tools/call 2026 no Mcp-Name", McpClients.StatelessRequest(5, "tools/call", "\"name\":\"echo\",\"arguments\":{\"text\":\"hi\"}"), McpClients.StatelessHeaders("tools/call"));
        await Dump(http, ep, "tools/call 2026 wrong Mcp-Name", McpClients.StatelessRequest(6, "tools/call", "\"name\":\"echo\",\"arguments\":{\"text\":\"hi\"}"), McpClients.StatelessHeaders("tools/call", "add"));
        await Dump(http, ep, "tools/call 2026 b64 Mcp-Name", McpClients.StatelessRequest(7, "tools/call", "\"name\":\"echo\",\"arguments\":{\"text\":\"hi\"}"), McpClients.StatelessHeaders("tools/call", "=?base64?ZWNobw==?="));
        await Dump(http, ep, "resources/list 2026", McpClients.StatelessRequest(8, "resources/list"), McpClients.StatelessHeaders("resources/list"));
        await Dump(http, ep, "resources/templates/list 2026", McpClients.StatelessRequest(9, "resources/templates/list"), McpClients.StatelessHeaders("resources/templates/list"));
        await Dump(http, ep, "prompts/list 2026", McpClients.StatelessRequest(10, "prompts/list"), McpClients.StatelessHeaders("prompts/list"));
        await Dump(http, ep, "resources/read 2026 no name", McpClients.StatelessRequest(11, "resources/read", "\"uri\":\"file:///readme.txt\""), McpClients.StatelessHeaders("resources/read"));
        await Dump(http, ep, "prompts/get 2026 no name", McpClients.StatelessRequest(12, "prompts/get", "\"name\":\"summarize\",\"arguments\":{\"text\":\"x\"}"), McpClients.StatelessHeaders("prompts/get"));
        await Dump(http, ep, "notification 2026 no Mcp-Method", """{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1}}""", new() { ["MCP-Protocol-Version"] = "2026-07-28" });
        await Dump(http, ep, "tools/list 2026 meta mismatch", McpClients.StatelessRequest(13, "tools/list").Replace("2026-07-28\",\"io", "2025-11-25\",\"io"), McpClients.StatelessHeaders("tools/list"));
        await Dump(http, ep, "progress 2026", McpClients.StatelessRequest(14, "tools/call", "\"name\":\"progress\",\"arguments\":{\"steps\":2}").Replace("\"_meta\":{", "\"_meta\":{\"progressToken\":\"p1\","), McpClients.StatelessHeaders("tools/call", "progress"));
        await Dump(http, ep, "tools/list mcp-method case", McpClients.StatelessRequest(15, "tools/list"), McpClients.StatelessHeaders("Tools/List"));

        var sid = await McpClients.InitializeSessionAsync(http, ep);
        await Dump(http, ep, "tools/list 2025", """{"jsonrpc":"2.0","id":20,"method":"tools/list"}""", McpClients.SessionHeaders(sid));
        await Dump(http, ep, "tools/list 2025 with wrong Mcp-Method", """{"jsonrpc":"2.0","id":21,"method":"tools/list"}""", new(McpClients.SessionHeaders(sid)) { ["Mcp-Method"] = "tools/call" });
        await Dump(http, ep, "progress 2025", """{"jsonrpc":"2.0","id":22,"method":"tools/call","params":{"name":"progress","arguments":{"steps":2},"_meta":{"progressToken":"p2"}}}""", McpClients.SessionHeaders(sid));
        foreach (var r in server.Requests) output.WriteLine($"REQ {r.Method} {r.Path} {string.Join(" | ", r.Headers.Where(h => h.Key.StartsWith("Mcp", StringComparison.OrdinalIgnoreCase)).Select(h => h.Key + ":" + h.Value))}");
    }

    [Fact]
    public async Task ProbeSdkClients()
    {
        await using var server = await TestMcpServer.StartAsync();
        foreach (var g in new[] { ProtocolGeneration.Stateless2026, ProtocolGeneration.Sessions2025 })
        {
            server.ClearRequests();
            await using (var c = await McpClients.ConnectAsync(server.Endpoint, g))
            {
                var tools = await c.Client.ListToolsAsync();
                output.WriteLine($"{g}: {string.Join(",", tools.Select(t => t.Name))}");
                var res = await c.Client.CallToolAsync("echo", new Dictionary<string, object?> { ["text"] = "hi" });
                await c.Client.ListResourcesAsync();
                await c.Client.ReadResourceAsync("file:///readme.txt");
                await c.Client.GetPromptAsync("summarize", new Dictionary<string, object?> { ["text"] = "x" });
            }
            foreach (var r in server.Requests) output.WriteLine($"REQ {g} {r.Method} {string.Join(" | ", r.Headers.Where(h => h.Key.StartsWith("Mcp", StringComparison.OrdinalIgnoreCase) || h.Key == "Accept").Select(h => h.Key + ":" + h.Value))} BODY {r.Body}");
        }
    }
}
