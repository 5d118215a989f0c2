using System.Net;
using System.Text.Json;
using Fabric.Edge.Tests.Fixtures;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;

namespace Fabric.Edge.Tests.EndToEnd;

/// <summary>
/// An agent's MCP calls through the edge, both transport generations, with the real SDK client and
/// server, real mTLS and the real cluster.
/// </summary>
[Collection(FabricCollection.Name)]
public sealed class EdgeEndToEndTests(FabricFixture fabric)
{
    private static object Allow(string server, params string[] tools) => new { server, effect = "allow", tools };

    private static object Deny(string server, params string[] tools) => new { server, effect = "deny", tools };

    public static TheoryData<ProtocolGeneration> Generations => [ProtocolGeneration.Sessions2025, ProtocolGeneration.Stateless2026];

    [Theory]
    [MemberData(nameof(Generations))]
    public async Task Allowed_call_reaches_upstream_with_the_spliced_credential_and_not_the_agents_own(ProtocolGeneration generation)
    {
        var scenario = await Scenario.CreateAsync(fabric, s => [Allow(s, "echo")]);
        await using var agent = await scenario.ConnectAsync(generation);
        agent.HttpClient.DefaultRequestHeaders.Authorization = new("Bearer", "agents-own-token");

        var result = await agent.Client.CallToolAsync("echo", new Dictionary<string, object?> { ["text"] = "hello" });

        Assert.Equal("hello", Assert.IsType<TextContentBlock>(Assert.Single(result.Content)).Text);
        var call = fabric.Upstream.Requests.Last(r => r.Body.Contains("\"echo\"", StringComparison.Ordinal));
        Assert.Equal("Bearer " + scenario.SecretValue, call.Header("Authorization"));
        Assert.DoesNotContain(fabric.Upstream.Requests, r => r.Header("Authorization")?.Contains("agents-own-token", StringComparison.Ordinal) == true);
    }

    [Theory]
    [MemberData(nameof(Generations))]
    public async Task Denied_tool_gets_a_forbidden_json_rpc_error_and_never_reaches_upstream(ProtocolGeneration generation)
    {
        var scenario = await Scenario.CreateAsync(fabric, s => [Allow(s, "*"), Deny(s, "delete_*")]);
        await using var agent = await scenario.ConnectAsync(generation);
        var path = "/" + Guid.NewGuid().ToString("N");

        var error = await Assert.ThrowsAsync<McpProtocolException>(() =>
            agent.Client.CallToolAsync("delete_all_files", new Dictionary<string, object?> { ["path"] = path }).AsTask());

        Assert.Equal(-32003, (int)error.ErrorCode);
        Assert.Contains("explicit-deny", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(fabric.Upstream.Requests, r => r.Body.Contains(path, StringComparison.Ordinal));
        var audit = await fabric.AuditAsync($"workload={Uri.EscapeDataString(scenario.Agent)}&decision=deny");
        var record = Assert.Single(audit, r => r.GetProperty("name").GetString() == "delete_all_files");
        Assert.Equal("explicit-deny", record.GetProperty("reason").GetString());
        Assert.Equal(scenario.Policy, record.GetProperty("policy").GetString());
    }

    [Theory]
    [MemberData(nameof(Generations))]
    public async Task Tools_list_is_filtered_to_what_the_identity_may_call(ProtocolGeneration generation)
    {
        var scenario = await Scenario.CreateAsync(fabric, s => [Allow(s, "echo", "add", "delete_*"), Deny(s, "delete_all_files")]);
        await using var agent = await scenario.ConnectAsync(generation);

        var tools = await agent.Client.ListToolsAsync();

        Assert.Equal(["add", "echo"], tools.Select(t => t.Name).Order(StringComparer.Ordinal));
    }
}
