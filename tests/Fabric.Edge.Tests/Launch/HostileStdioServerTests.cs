using System.Text.Json;
using Fabric.Edge.Launch;
using Fabric.Edge.Tests.Fixtures;
using Microsoft.Extensions.DependencyInjection;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace Fabric.Edge.Tests.Launch;

/// <summary>
/// Launched servers as attackers: a process that writes junk and unsolicited messages around its answers, sends
/// server-initiated requests, answers ids nobody asked, lists tools the agent may not see, exits; and agents that
/// reuse each other's JSON-RPC ids on a shared process. The edge keeps every agent's answer its own, relays nothing
/// the process starts on its own, and fails closed with a reason code, never a 500.
/// </summary>
[Collection(FabricCollection.Name)]
public sealed class HostileStdioServerTests(FabricFixture fabric) : IAsyncLifetime
{
    /// <summary>A stdio MCP server in python (the stdio transport by hand), recording every line the edge sends it.</summary>
    private const string Script = """
        import json, sys
        mode, record = sys.argv[1], sys.argv[2]
        if mode == "exit":
            sys.exit(7)
        def send(obj):
            sys.stdout.write(json.dumps(obj) + "\n"); sys.stdout.flush()
        for line in sys.stdin:
            with open(record, "a") as f: f.write(line)
            msg = json.loads(line)
            if "method" not in msg or "id" not in msg:
                continue
            method, rid = msg["method"], msg["id"]
            # Around every answer: junk, a server-initiated request, a log notification, an answer to nothing.
            sys.stdout.write("this is not json\n")
            send({"jsonrpc": "2.0", "id": "srv-1", "method": "sampling/createMessage", "params": {"messages": [], "maxTokens": 1}})
            send({"jsonrpc": "2.0", "method": "notifications/message", "params": {"level": "info", "data": "hello"}})
            send({"jsonrpc": "2.0", "id": 999999, "result": {"forged": True}})
            if method == "initialize":
                send({"jsonrpc": "2.0", "id": rid, "result": {"protocolVersion": "2025-11-25", "capabilities": {"tools": {}}, "serverInfo": {"name": "hostile", "version": "1"}}})
            elif method == "tools/list":
                send({"jsonrpc": "2.0", "id": rid, "result": {"tools": [
                    {"name": "safe", "inputSchema": {"type": "object"}},
                    {"name": "secret_tool", "description": "must stay hidden", "inputSchema": {"type": "object"}}]}})
            elif method == "tools/call":
                send({"jsonrpc": "2.0", "id": rid, "result": {"content": [{"type": "text", "text": json.dumps(msg["params"].get("arguments", {}))}]}})
            else:
                send({"jsonrpc": "2.0", "id": rid, "result": {}})
        """;

    private string _directory = null!;
    private string _script = null!;

    public async Task InitializeAsync()
    {
        _directory = Path.Combine(Path.GetTempPath(), "hostile-stdio-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_directory);
        _script = Path.Combine(_directory, "server.py");
        await File.WriteAllTextAsync(_script, Script);
    }

    public Task DisposeAsync()
    {
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // A launched process of the test may still be writing its log while it exits: the temp folder can stay.
        }
        return Task.CompletedTask;
    }

    private LaunchedServers Launched => fabric.EdgeApp.Services.GetRequiredService<LaunchedServers>();

    private async Task<string> RegisterAsync(string[] agents, string mode, string record, object? tools = null, string? command = null, string[]? args = null)
    {
        var server = FabricFixture.Unique("hostile-stdio");
        await fabric.PutAsync($"/v1/servers/{server}", new
        {
            identity = $"spiffe://{FabricFixture.TrustDomain}/mcp/{server}",
            launch = new { command = command ?? StdioServers.Python, args = args ?? [_script, mode, record] },
        });
        await fabric.PutAsync($"/v1/policies/{FabricFixture.Unique("hostile")}", new
        {
            subjects = agents,
            rules = new object[] { tools is null ? new { server, effect = "allow" } : new { server, effect = "allow", tools } },
        });
        return server;
    }

    private static string Agent() => $"spiffe://{FabricFixture.TrustDomain}/agents/{FabricFixture.Unique("agent")}";

    [Fact]
    public async Task Junk_unsolicited_messages_and_forged_answers_reach_no_agent_and_hidden_tools_stay_hidden()
    {
        var agent = Agent();
        var record = Path.Combine(_directory, "chatty.log");
        var server = await RegisterAsync([agent], "chatty", record, tools: new[] { "safe" });
        using var svid = await fabric.MintSvidAsync(agent);
        await using var client = await fabric.ConnectAsync(server, svid, ProtocolGeneration.Sessions2025);

        Assert.Equal(["safe"], (await client.Client.ListToolsAsync()).Select(t => t.Name));
        var result = await client.Client.CallToolAsync("safe", new Dictionary<string, object?> { ["q"] = "mine" });
        Assert.Equal("""{"q": "mine"}""", Assert.IsType<TextContentBlock>(Assert.Single(result.Content)).Text);
        await Assert.ThrowsAnyAsync<Exception>(() => client.Client.CallToolAsync("secret_tool").AsTask());

        var seen = (await File.ReadAllLinesAsync(record)).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        // One handshake, the edge's; the process's sampling requests were answered by the edge, not relayed.
        Assert.Single(seen, m => m.TryGetProperty("method", out var method) && method.GetString() == "initialize");
        Assert.Single(seen, m => m.TryGetProperty("method", out var method) && method.GetString() == "notifications/initialized");
        Assert.Contains(seen, m => m.TryGetProperty("id", out var id) && id.ValueKind == JsonValueKind.String && id.GetString() == "srv-1"
            && m.GetProperty("error").GetProperty("code").GetInt32() == -32601);
        // The denied call never reached the process.
        Assert.DoesNotContain(seen, m => m.TryGetProperty("params", out var p) && p.ValueKind == JsonValueKind.Object
            && p.TryGetProperty("name", out var name) && name.GetString() == "secret_tool");
        Assert.True(Assert.Single(Launched.Running, p => p.Key.Server == server).DroppedNotifications >= 4);
    }

    [Fact]
    public async Task Agents_reusing_the_same_ids_on_a_shared_process_each_get_their_own_answers()
    {
        var (a, b) = (Agent(), Agent());
        var server = await RegisterAsync([a, b], "chatty", Path.Combine(_directory, "shared.log"));
        using var svidA = await fabric.MintSvidAsync(a);
        using var svidB = await fabric.MintSvidAsync(b);
        using var httpA = fabric.AgentHttpClient(svidA);
        using var httpB = fabric.AgentHttpClient(svidB);
        var calls = Enumerable.Range(0, 24).Select(async i =>
        {
            var (http, who) = i % 2 == 0 ? (httpA, "a") : (httpB, "b");
            var body = McpClients.StatelessRequest(7, "tools/call", $"\"name\":\"safe\",\"arguments\":{{\"who\":\"{who}{i}\"}}");
            using var response = await McpClients.PostAsync(http, fabric.McpUrl(server), body, McpClients.StatelessHeaders("tools/call", "safe"));
            var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
            Assert.Equal(7, json.GetProperty("id").GetInt32());
            return (Expected: $"{who}{i}", Got: json.GetProperty("result").GetProperty("content")[0].GetProperty("text").GetString());
        });
        foreach (var (expected, got) in await Task.WhenAll(calls))
        {
            Assert.Equal($$"""{"who": "{{expected}}"}""", got);
        }
    }

    [Fact]
    public async Task A_process_that_exits_is_a_502_with_a_reason_and_is_not_restarted_before_its_backoff()
    {
        var agent = Agent();
        var server = await RegisterAsync([agent], "exit", Path.Combine(_directory, "exit.log"));
        using var svid = await fabric.MintSvidAsync(agent);
        using var http = fabric.AgentHttpClient(svid);
        var details = new List<string>();
        for (var i = 0; i < 2; i++)
        {
            using var response = await McpClients.PostAsync(http, fabric.McpUrl(server), McpClients.StatelessRequest(1, "tools/list"), McpClients.StatelessHeaders("tools/list"));
            Assert.Equal(502, (int)response.StatusCode);
            var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
            Assert.Equal("launch-failed", problem.GetProperty("reason").GetString());
            details.Add(problem.GetProperty("detail").GetString()!);
        }
        Assert.Contains("exited (code 7)", details[0], StringComparison.Ordinal);
        Assert.Contains("started again in", details[1], StringComparison.Ordinal);
        var records = await fabric.AuditAsync($"server={server}");
        Assert.Equal(2, records.Count(r => r.GetProperty("reason").GetString() == "launch-failed"));
    }

    [Fact]
    public async Task A_missing_executable_is_a_502_not_a_500()
    {
        var agent = Agent();
        var server = await RegisterAsync([agent], "x", "x", command: "/nonexistent/fabric-server", args: []);
        using var svid = await fabric.MintSvidAsync(agent);
        using var http = fabric.AgentHttpClient(svid);
        using var response = await McpClients.PostAsync(http, fabric.McpUrl(server), McpClients.StatelessRequest(1, "tools/list"), McpClients.StatelessHeaders("tools/list"));
        Assert.Equal(502, (int)response.StatusCode);
        Assert.Equal("launch-failed", JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("reason").GetString());
    }
}
