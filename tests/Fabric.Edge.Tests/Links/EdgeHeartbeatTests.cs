using System.Net.Http.Json;
using System.Text.Json;
using Fabric.Contracts.Grains;
using Fabric.Edge.Hosting;
using Fabric.Edge.Tests.Fixtures;
using Microsoft.Extensions.DependencyInjection;

namespace Fabric.Edge.Tests.Links;

/// <summary>An edge's heartbeat (issue 13 §1, <c>fabric status</c>): last seen, version and audit backlog, for joined edges only.</summary>
[Collection(FabricCollection.Name)]
public sealed class EdgeHeartbeatTests(FabricFixture fabric)
{
    private async Task<JsonElement[]> EdgesAsync() =>
        [.. (await fabric.Admin.GetFromJsonAsync<JsonElement>("/v1/edges")).EnumerateArray()];

    [Fact]
    public async Task A_running_edge_is_listed_with_when_it_was_last_seen_its_version_and_its_audit_backlog()
    {
        await fabric.EdgeApp.Services.GetRequiredService<EdgeHeartbeat>().FirstReport.WaitAsync(TimeSpan.FromSeconds(30));
        await fabric.FlushAuditAsync();

        var edge = Assert.Single(await EdgesAsync(), e => e.GetProperty("name").GetString() == "e2e");
        var lastSeen = edge.GetProperty("lastSeen").GetDateTimeOffset();
        Assert.InRange(lastSeen, DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddSeconds(5));
        Assert.Equal(EdgeHeartbeat.Version.Length <= 64 ? EdgeHeartbeat.Version : EdgeHeartbeat.Version[..64], edge.GetProperty("version").GetString());
        Assert.True(edge.GetProperty("auditBacklog").GetInt64() >= 0);
    }

    [Fact]
    public async Task Reports_for_a_name_that_never_joined_or_was_revoked_add_nothing_and_a_hostile_report_is_bounded()
    {
        var registry = fabric.SiloServices.GetRequiredService<IGrainFactory>().Edges();
        var stranger = FabricFixture.Unique("never-joined");
        // An edge that joined (its token redeemed at the registry) but runs nowhere: only these reports speak for it.
        var joined = FabricFixture.Unique("hb");
        var token = await registry.CreateTokenAsync(joined, TimeSpan.FromMinutes(5));
        Assert.True(JoinTokens.TryParse(token.Token, out var id, out var secret));
        Assert.Equal(EdgeAdmission.Admitted, await registry.RedeemAsync(id, JoinTokens.HashSecret(secret), joined, DateTimeOffset.UtcNow.AddHours(1)));

        await registry.ReportAsync(new EdgeReport(stranger, "1.0", 5));
        await registry.ReportAsync(new EdgeReport(joined, new string('v', 10_000), -7));

        var edges = await EdgesAsync();
        Assert.DoesNotContain(edges, e => e.GetProperty("name").GetString() == stranger);
        var edge = Assert.Single(edges, e => e.GetProperty("name").GetString() == joined);
        Assert.Equal(new string('v', 64), edge.GetProperty("version").GetString());
        Assert.Equal(0, edge.GetProperty("auditBacklog").GetInt64());

        // Revoked: its heartbeat is gone and later reports are ignored.
        Assert.True(await registry.RevokeEdgeAsync(joined));
        await registry.ReportAsync(new EdgeReport(joined, "2.0", 1));
        var revoked = Assert.Single(await EdgesAsync(), e => e.GetProperty("name").GetString() == joined);
        Assert.True(revoked.GetProperty("revoked").GetBoolean());
        Assert.False(revoked.TryGetProperty("lastSeen", out _));
    }
}
