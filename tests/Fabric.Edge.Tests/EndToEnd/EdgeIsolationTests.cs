using System.Net;
using System.Text.Json;
using Fabric.Edge.Caching;
using Fabric.Edge.Tests.Fixtures;
using Microsoft.Extensions.DependencyInjection;

namespace Fabric.Edge.Tests.EndToEnd;

/// <summary>A fabric whose edge trusts its caches for only one second without a confirmed subscription.</summary>
public sealed class ShortGraceFabricFixture : FabricFixture
{
    protected override IEnumerable<string> EdgeArguments() =>
    [
        "--Fabric:Edge:SubscriptionRefresh=00:00:00.200",
        "--Fabric:Edge:SubscriptionGrace=00:00:01",
        "--Fabric:Cluster:CallRetryBudget=00:00:00.500",
    ];
}

/// <summary>An edge cut off from the cluster stops serving cached allows and fails closed.</summary>
public sealed class EdgeIsolationTests(ShortGraceFabricFixture fabric) : IClassFixture<ShortGraceFabricFixture>
{
    [Fact]
    public async Task An_edge_that_loses_the_cluster_stops_trusting_its_cache_and_denies()
    {
        var scenario = await Scenario.CreateAsync(fabric, s => [new { server = s, effect = "allow", tools = new[] { "echo" } }]);
        using var http = fabric.AgentHttpClient(scenario.Certificate);
        var call = McpClients.StatelessRequest(1, "tools/call", "\"name\":\"echo\",\"arguments\":{\"text\":\"cached\"}");
        using (var warm = await McpClients.PostAsync(http, fabric.McpUrl(scenario.Server), call, McpClients.StatelessHeaders("tools/call", "echo")))
        {
            Assert.Equal(HttpStatusCode.OK, warm.StatusCode);
        }
        var cache = fabric.EdgeApp.Services.GetRequiredService<EdgeCache>();
        Assert.True(cache.Trusted);

        await fabric.StopSiloAsync();
        // The edge's own clock ends the grace; wait for that state, bounded (no event to await: the
        // absence of a subscription renewal is the signal).
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (cache.Trusted && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
        }
        Assert.False(cache.Trusted, "the edge still trusted its cache 15 s after losing the cluster");

        using var cut = await McpClients.PostAsync(http, fabric.McpUrl(scenario.Server), call, McpClients.StatelessHeaders("tools/call", "echo"));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, cut.StatusCode);
        using var problem = JsonDocument.Parse(await cut.Content.ReadAsStringAsync());
        Assert.Equal("policy-unavailable", problem.RootElement.GetProperty("reason").GetString());
    }
}
