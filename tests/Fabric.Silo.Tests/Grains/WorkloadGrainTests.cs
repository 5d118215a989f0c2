using System.Text.Json;
using Fabric.Contracts.Grains;
using Fabric.Contracts.Policy;

namespace Fabric.Silo.Tests.Grains;

[Collection(ClusterCollectionDefinition.Name)]
public sealed class WorkloadGrainTests(ClusterFixture fixture)
{
    [Fact]
    public async Task Grant_reflects_the_enabled_flag_and_keeps_the_rules()
    {
        var (workload, server) = await ArrangeAsync();
        var grain = fixture.Client.Workload(workload);

        var enabled = await grain.GetGrantAsync(server);
        var status = await grain.SetEnabledAsync(false);
        var disabled = await grain.GetGrantAsync(server);
        await grain.SetEnabledAsync(true);
        var reenabled = await grain.GetGrantAsync(server);

        Assert.True(enabled.Enabled);
        Assert.True(enabled.AllowsServer);
        Assert.False(status.Enabled);
        Assert.False(disabled.Enabled);
        // Records compare their lists by reference: compare the wire shapes instead.
        Assert.Equal(JsonSerializer.Serialize(enabled.Rules), JsonSerializer.Serialize(disabled.Rules));
        Assert.Single(disabled.Rules);
        Assert.True(reenabled.Enabled);
    }

    [Fact]
    public async Task Enabled_flag_survives_deactivation()
    {
        var workload = NewWorkload();
        var grain = fixture.Client.Workload(workload);
        await grain.SetEnabledAsync(false);

        await fixture.Cluster.DeactivateAsync(grain);

        Assert.False((await grain.GetAsync()).Enabled);
    }

    [Fact]
    public async Task Decide_denies_a_server_the_fabric_does_not_know_as_unknown_server()
    {
        var (workload, _) = await ArrangeAsync();
        var version = (await fixture.Client.Catalog().GetRulesAsync(Contracts.Identity.SpiffeId.Parse(workload), "x")).Version;

        var decision = await fixture.Client.Workload(workload).DecideAsync("nowhere-" + Guid.NewGuid().ToString("N")[..8], new McpCall("tools/call", "t"));

        Assert.False(decision.Allowed);
        Assert.Equal(ReasonCodes.UnknownServer, decision.Reason);
        Assert.Equal(version, decision.Version);
        Assert.Null(decision.Policy);
    }

    [Fact]
    public async Task Decide_allows_by_the_catalog_denies_a_disabled_workload_and_counts_nothing()
    {
        var (workload, server) = await ArrangeAsync();
        var grain = fixture.Client.Workload(workload);

        var allowed = await grain.DecideAsync(server, new McpCall("tools/call", "read_file"));
        var unlisted = await grain.DecideAsync(server, new McpCall("tools/call", "delete_repo"));
        await grain.SetEnabledAsync(false);
        var disabled = await grain.DecideAsync(server, new McpCall("tools/call", "read_file"));

        Assert.Equal((true, ReasonCodes.Allowed, 0), (allowed.Allowed, allowed.Reason, allowed.Rule));
        Assert.Equal((false, ReasonCodes.NoMatchingAllow), (unlisted.Allowed, unlisted.Reason));
        Assert.Equal((false, ReasonCodes.WorkloadDisabled), (disabled.Allowed, disabled.Reason));
        var status = await grain.GetAsync();
        Assert.Equal((0, 0, null), (status.Allowed, status.Denied, status.LastSeen));
    }

    [Fact]
    public async Task Record_adds_to_the_counters_and_stamps_last_seen()
    {
        var grain = fixture.Client.Workload(NewWorkload());

        await grain.RecordAsync(3, 1);
        await grain.RecordAsync(2, 0);

        var status = await grain.GetAsync();
        Assert.Equal(5, status.Allowed);
        Assert.Equal(1, status.Denied);
        Assert.NotNull(status.LastSeen);
        Assert.True(status.Enabled);
    }

    [Fact]
    public async Task Counters_written_lazily_are_still_persisted_when_the_grain_deactivates()
    {
        var grain = fixture.Client.Workload(NewWorkload());
        await grain.RecordAsync(3, 1);
        var seen = (await grain.GetAsync()).LastSeen;

        await fixture.Cluster.DeactivateAsync(grain);

        var status = await grain.GetAsync();
        Assert.Equal((3, 1, seen), (status.Allowed, status.Denied, status.LastSeen));
    }

    [Theory]
    [InlineData("not-a-spiffe-id")]
    [InlineData("spiffe://fabric.local")]
    [InlineData("spiffe://Fabric.Local/upper")]
    public async Task A_grain_under_a_malformed_or_trust_domain_key_grants_nothing(string key)
    {
        var grant = await fixture.Client.Workload(key).GetGrantAsync("srv");

        Assert.False(grant.Enabled);
        Assert.Empty(grant.Rules);
        Assert.False((await fixture.Client.Workload(key).DecideAsync("srv", new McpCall("ping"))).Allowed);
    }

    /// <summary>A registered server and a policy allowing read_* on it to a fresh workload.</summary>
    private async Task<(string Workload, string Server)> ArrangeAsync()
    {
        var workload = NewWorkload();
        var server = "srv-" + Guid.NewGuid().ToString("N")[..10];
        await fixture.Client.Server(server).PutAsync(new Uri("https://tools.example.com/mcp"), null, null);
        var put = await fixture.Client.Catalog().PutAsync(new PolicyDocument("wl-" + server, [workload],
            [new PolicyRule(server, PolicyEffect.Allow, Tools: ["read_*"])]));
        Assert.NotNull(put.Version);
        return (workload, server);
    }

    private static string NewWorkload() => "spiffe://fabric.local/agents/" + Guid.NewGuid().ToString("N")[..12];
}
