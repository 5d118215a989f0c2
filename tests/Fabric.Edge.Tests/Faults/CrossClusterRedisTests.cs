using System.Net.Http.Json;
using System.Text.Json;
using Fabric.Edge.Tests.Fixtures;
using Fabric.Hosting.Links;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;

namespace Fabric.Edge.Tests.Faults;

/// <summary>
/// Issue 10 §3 "Across clusters" as the issue sets it up: two fabric clusters on one machine, each with its own
/// <c>redis-server</c> and trust domain (<c>a.test</c>, <c>b.test</c>), federated both ways through their bundle
/// endpoints. B runs an ingress edge in front of its MCP server; an agent of A calls it with the real MCP SDK through
/// A's edge. Both clusters decide, B splices its own credential, and a grant removal in either stops the next call.
/// </summary>
[Collection(FaultsCollection.Name)]
public sealed class CrossClusterRedisTests
{
    [Fact]
    public async Task Two_redis_clusters_federated_both_ways_carry_an_agents_call_through_an_ingress_edge()
    {
        await using var a = await RedisFabric.StartInDomainAsync("a.test");
        await using var b = await RedisFabric.StartInDomainAsync("b.test");
        await FederateAsync(a, b);
        await FederateAsync(b, a);
        var edgeA = await a.AddEdgeAsync("a-edge");
        var ingress = await b.AddEdgeAsync("b-ingress", arguments: "--Fabric:Edge:Ingress:Enabled=true");

        var bServer = await b.AddServerAsync();
        var agent = $"spiffe://a.test/agents/{RedisFabric.Unique("agent")}";
        var aServer = RedisFabric.Unique("via-b");
        await a.PutAsync($"/v1/servers/{aServer}", new
        {
            upstream = new Uri(new Uri(Address(ingress)), "/mcp/" + bServer).ToString(),
            identity = "spiffe://b.test/fabric/edge/b-ingress",
            agentJwtAudience = $"spiffe://b.test/mcp/{bServer}",
        });
        var aPolicy = RedisFabric.Unique("pol");
        var bPolicy = RedisFabric.Unique("pol");
        Task Grant(RedisFabric fabric, string policy, string server, params string[] tools) =>
            fabric.PutAsync($"/v1/policies/{policy}", new { subjects = new[] { agent }, rules = new[] { new { server, effect = "allow", tools } } });
        await Grant(a, aPolicy, aServer, "echo");
        await Grant(b, bPolicy, bServer, "echo");
        using var certificate = await a.MintSvidAsync(agent);

        await using var client = await a.ConnectAsync(edgeA, aServer, certificate, ProtocolGeneration.Sessions2025);
        Assert.Equal("over two clusters", Text(await client.Client.CallToolAsync("echo", new Dictionary<string, object?> { ["text"] = "over two clusters" })));
        var reached = Assert.Single(b.Upstream.Requests, r => r.Body.Contains("over two clusters", StringComparison.Ordinal));
        Assert.StartsWith("Bearer sk-", reached.Header("Authorization"), StringComparison.Ordinal); // B's credential, not A's JWT-SVID

        await RedisFabric.FlushAuditAsync(ingress);
        var inB = await b.Admin.GetFromJsonAsync<JsonElement>($"/v1/audit?workload={Uri.EscapeDataString(agent)}&server={bServer}");
        Assert.Contains(inB.GetProperty("records").EnumerateArray(), r => r.GetProperty("allowed").GetBoolean()
            && r.GetProperty("via").GetString() == "spiffe://a.test/fabric/edge/a-edge");

        await Grant(b, bPolicy, bServer, "add");
        await Assert.ThrowsAsync<McpProtocolException>(() => client.Client.CallToolAsync("echo", new Dictionary<string, object?> { ["text"] = "b said no" }).AsTask());
        await Grant(b, bPolicy, bServer, "echo");
        await Grant(a, aPolicy, aServer, "add");
        await Assert.ThrowsAsync<McpProtocolException>(() => client.Client.CallToolAsync("echo", new Dictionary<string, object?> { ["text"] = "a said no" }).AsTask());
        Assert.DoesNotContain(b.Upstream.Requests, r => r.Body.Contains("said no", StringComparison.Ordinal));
    }

    private static Task<JsonElement> FederateAsync(RedisFabric consumer, RedisFabric publisher)
    {
        var silo = publisher.Silos[0].Services;
        return Links.FederationRequests.FederateAsync(consumer.Admin, publisher.Domain, Links.FederationRequests.BundleEndpoint(silo),
            silo.GetRequiredService<NodeIdentity>().Current.Id.ToString(), publisher.Admin);
    }

    private static string Address(WebApplication app) =>
        app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();

    private static string Text(CallToolResult result) => Assert.IsType<TextContentBlock>(Assert.Single(result.Content)).Text;
}
