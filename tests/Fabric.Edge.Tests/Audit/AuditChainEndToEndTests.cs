using System.Text.Json;
using Fabric.Edge.Audit;
using Fabric.Edge.Tests.EndToEnd;
using Fabric.Edge.Tests.Fixtures;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Fabric.Edge.Tests.Audit;

/// <summary>
/// Issue 12 §7 end to end: a real edge chains and signs its records, the silo's <c>GET /v1/audit/verify</c> walks the
/// chain with the trust bundle, and the chain continues without a gap when the edge restarts on its spool.
/// </summary>
[Collection(FabricCollection.Name)]
public sealed class AuditChainEndToEndTests(FabricFixture fabric)
{
    private static string Address(WebApplication app) =>
        app.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>()
            .Features.Get<Microsoft.AspNetCore.Hosting.Server.Features.IServerAddressesFeature>()!.Addresses.First();

    [Fact]
    public async Task An_edges_chain_verifies_with_signed_checkpoints_and_continues_across_a_restart()
    {
        var scenario = await Scenario.CreateAsync(fabric, server => [new { server, effect = "allow", tools = new[] { "echo" } }]);
        var name = "chain-" + Guid.NewGuid().ToString("N")[..8];
        for (var life = 0; life < 2; life++)
        {
            var edge = await fabric.StartEdgeAsync(name, await EdgeJoinArguments.ForAsync(fabric.Admin, name));
            try
            {
                await using var agent = await McpClients.ConnectAsync(new Uri(new Uri(Address(edge)), "/mcp/" + scenario.Server), ProtocolGeneration.Stateless2026,
                    scenario.Certificate, fabric.ValidateEdge);
                for (var i = 0; i < 3; i++)
                {
                    await agent.Client.CallToolAsync("echo", new Dictionary<string, object?> { ["text"] = $"life {life} call {i}" });
                }
                await edge.Services.GetRequiredService<AuditShipper>().FlushAsync();
            }
            finally
            {
                await edge.StopAsync();
                await edge.DisposeAsync();
            }
        }

        using var report = JsonDocument.Parse(await fabric.Admin.GetStringAsync($"/v1/audit/verify?edge={name}"));
        var root = report.RootElement;
        Assert.False(root.TryGetProperty("firstBreak", out var broken) && broken.ValueKind != JsonValueKind.Null, root.ToString());
        Assert.Equal(1, root.GetProperty("firstSequence").GetInt64());
        Assert.Equal(root.GetProperty("records").GetInt32(), root.GetProperty("lastSequence").GetInt64());
        Assert.True(root.GetProperty("records").GetInt32() >= 8, root.ToString()); // discover + 3 calls, twice
        Assert.True(root.GetProperty("checkpoints").GetInt32() >= 2, root.ToString()); // the first record of each life is signed

        using var bad = await fabric.Admin.GetAsync("/v1/audit/verify?edge=Not_An_Edge");
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, bad.StatusCode);
    }
}
