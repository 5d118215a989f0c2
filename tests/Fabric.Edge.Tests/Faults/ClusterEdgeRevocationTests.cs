using System.Diagnostics;
using System.Net;
using Fabric.Contracts.Grains;
using Fabric.Contracts.Identity;
using Fabric.Hosting.Links;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace Fabric.Edge.Tests.Faults;

/// <summary>
/// Issue 10 §1 across a real cluster (one Redis, two silos over TLS links, two edges): revoking one edge reaches every
/// silo's gateway before the DELETE returns (its links on both are aborted, both refuse it), and the other edge is
/// untouched. The CA is shared through Redis: both edges and both silos chain to one root.
/// </summary>
[Collection(FaultsCollection.Name)]
public sealed class ClusterEdgeRevocationTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Revoking_an_edge_cuts_its_links_on_every_silo_and_leaves_the_other_edge_working()
    {
        await using var fabric = await RedisFabric.StartAsync(silos: 2);
        var revoked = await fabric.AddEdgeAsync("cut-edge");
        var kept = await fabric.AddEdgeAsync("kept-edge");
        var id = SpiffeId.Parse($"spiffe://{RedisFabric.TrustDomain}/fabric/edge/cut-edge");
        var keptId = SpiffeId.Parse($"spiffe://{RedisFabric.TrustDomain}/fabric/edge/kept-edge");
        var peers = fabric.Silos.Select(s => s.Services.GetRequiredService<LinkPeers>()).ToArray();
        // Both edges hold links (each to at least one silo) and every node chains to the one shared root.
        await revoked.Services.GetRequiredService<IClusterClient>().Catalog().ListAsync();
        await kept.Services.GetRequiredService<IClusterClient>().Catalog().ListAsync();
        Assert.True(peers.Sum(p => p.OpenLinks(id)) > 0);
        var roots = fabric.Silos.Select(s => s.Services.GetRequiredService<NodeIdentity>().Current.Certificate.Issuer).Distinct();
        Assert.Single(roots);

        var clock = Stopwatch.StartNew();
        using var response = await fabric.Admin.DeleteAsync("/v1/edges/cut-edge");
        var took = clock.Elapsed;
        output.WriteLine($"DELETE /v1/edges/cut-edge returned in {took.TotalMilliseconds:F1} ms; links left: {string.Join(", ", peers.Select(p => p.OpenLinks(id)))}");

        output.WriteLine(string.Join("\n", fabric.Logs.Lines.Where(l => l.Contains("revoked;", StringComparison.Ordinal) || l.Contains("Watching", StringComparison.Ordinal) || l.Contains("EdgeRegistry", StringComparison.Ordinal))));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.All(peers, p => Assert.True(p.IsRefused(id)));
        Assert.All(peers, p => Assert.Equal(0, p.OpenLinks(id)));
        Assert.All(peers, p => Assert.False(p.IsRefused(keptId)));
        await kept.Services.GetRequiredService<IClusterClient>().Catalog().ListAsync();
        await Assert.ThrowsAnyAsync<Exception>(() => revoked.Services.GetRequiredService<IClusterClient>().Catalog().ListAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30)));
    }
}
