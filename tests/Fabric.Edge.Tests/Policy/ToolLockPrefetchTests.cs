using System.Net;
using Fabric.Edge.Caching;
using Fabric.Edge.Tests.EndToEnd;
using Fabric.Edge.Tests.Fixtures;
using Microsoft.Extensions.DependencyInjection;

namespace Fabric.Edge.Tests.Policy;

/// <summary>
/// The tool lock is fetched beside the server and the grant on a cold message. A hostile agent that sprays names
/// of servers that do not exist must not make the edge hold a fetch per name; a cold call on a locked server is still
/// decided with the lock in hand (the lock's own drift and approval tests run over this path too).
/// </summary>
[Collection(FabricCollection.Name)]
public sealed class ToolLockPrefetchTests(FabricFixture fabric)
{
    private const string Call = """{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"x"}}}""";

    [Fact]
    public async Task Names_of_servers_that_do_not_exist_leave_no_prefetch_behind()
    {
        var scenario = await Scenario.CreateAsync(fabric, s => [new { server = s, effect = "allow", tools = new[] { "echo" } }]);
        using var http = fabric.AgentHttpClient(scenario.Certificate);
        var cache = fabric.EdgeApp.Services.GetRequiredService<EdgeCache>();
        cache.InvalidateAll(); // nothing pending from other tests' messages

        for (var i = 0; i < 50; i++)
        {
            using var response = await McpClients.PostAsync(http, fabric.McpUrl(FabricFixture.Unique("nosuch")), Call);
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        }

        Assert.Equal(0, cache.PendingToolLockPrefetches);
    }

    [Fact]
    public async Task A_cold_call_on_a_locked_server_still_sees_the_lock_and_is_answered()
    {
        var scenario = await Scenario.CreateAsync(fabric, s => [new { server = s, effect = "allow", tools = new[] { "echo" } }]);
        await using var agent = await scenario.ConnectAsync(ProtocolGeneration.Stateless2026);
        await agent.Client.ListToolsAsync(); // trust on first use: the lock now holds the upstream's tools
        var cache = fabric.EdgeApp.Services.GetRequiredService<EdgeCache>();

        for (var i = 0; i < 5; i++)
        {
            cache.InvalidateAll(); // cold: server, grant and lock all fetched again, the lock beside the other two
            var result = await agent.Client.CallToolAsync("echo", new Dictionary<string, object?> { ["text"] = $"cold {i}" });
            Assert.Equal($"cold {i}", Assert.IsType<ModelContextProtocol.Protocol.TextContentBlock>(Assert.Single(result.Content)).Text);
        }
    }
}
