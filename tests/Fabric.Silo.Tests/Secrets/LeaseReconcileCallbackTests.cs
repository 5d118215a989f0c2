using Fabric.Contracts.Grains;
using Fabric.Contracts.Policy;
using Fabric.Contracts.Servers;

namespace Fabric.Silo.Tests.Secrets;

/// <summary>
/// Each change that ends or replaces leases reaches them without a call back into the grain that made
/// it (issue 9 §2). Two oracles: the change returns promptly (the grains whose reads no longer
/// interleave would deadlock until the response timeout if a lease called back), and the changing
/// grain receives no call while its change runs (the reads that still interleave, for crossing calls,
/// would show the callback there).
/// </summary>
[Collection(LeaseClusterCollection.Name)]
public sealed class LeaseReconcileCallbackTests(LeaseClusterFixture fixture)
{
    /// <summary>Far below the cluster's response timeout: a call that waits on itself fails here, not in 30 s.</summary>
    private static readonly TimeSpan Prompt = TimeSpan.FromSeconds(10);

    private readonly string _server = "cb-" + Guid.NewGuid().ToString("N")[..10];
    private IClusterClient Grains => fixture.Client;

    private string Path => "database/creds/" + _server;

    private CredentialBinding Dynamic(bool perWorkload = false, string header = "Authorization") =>
        new(CredentialSources.VaultDynamic, null, perWorkload, new InjectSpec(header, "{secret}"), Path: Path, Field: "password");

    private static readonly Uri Upstream = new("https://tools.example/mcp");

    [Fact]
    public async Task Putting_a_server_reconciles_its_leases_from_the_new_definition_without_asking_the_server_back()
    {
        fixture.Source.FailFetch = null;
        var server = Grains.Server(_server);
        await server.PutAsync(Upstream, null, Dynamic());
        var lease = Grains.Lease(ICredentialLeaseGrain.KeyFor(_server, null));
        var first = (await lease.GetAsync()).Credential!;

        await server.PutAsync(Upstream, null, Dynamic(header: "X-Api-Key")).AsTask().WaitAsync(Prompt);

        Assert.Contains(first.LeaseId["vault-dynamic:".Length..], fixture.Source.Revoked);
        Assert.Null((await lease.GetStatusAsync()).LeaseId);
        Assert.Empty(fixture.Interleavings.InterleavedOn(server));
        var next = (await lease.GetAsync()).Credential!;
        Assert.NotEqual(first.LeaseId, next.LeaseId);
        Assert.Equal("X-Api-Key", next.HeaderName);

        await server.DeleteAsync().AsTask().WaitAsync(Prompt);
        Assert.Contains(next.LeaseId["vault-dynamic:".Length..], fixture.Source.Revoked);
        Assert.Empty(fixture.Interleavings.InterleavedOn(server));
        Assert.DoesNotContain(ICredentialLeaseGrain.KeyFor(_server, null), await Grains.Leases().ListForServerAsync(_server));
    }

    [Fact]
    public async Task A_grant_removal_and_a_disabled_workload_reach_per_workload_leases_without_a_callback()
    {
        fixture.Source.FailFetch = null;
        var (a, b) = ($"spiffe://fabric.local/agents/{Guid.NewGuid():N}", $"spiffe://fabric.local/agents/{Guid.NewGuid():N}");
        var policy = "p-" + Guid.NewGuid().ToString("N")[..8];
        var catalog = Grains.Catalog();
        await catalog.PutAsync(new PolicyDocument(policy, [a, b], [new PolicyRule(_server, PolicyEffect.Allow, ["*"])]));
        await Grains.Server(_server).PutAsync(Upstream, null, Dynamic(perWorkload: true));
        var leaseA = Grains.Lease(ICredentialLeaseGrain.KeyFor(_server, a));
        var leaseB = Grains.Lease(ICredentialLeaseGrain.KeyFor(_server, b));
        var credA = (await leaseA.GetAsync()).Credential!;
        var credB = (await leaseB.GetAsync()).Credential!;

        // B's grant goes away: the catalog hands its new policies along, nothing asks it for rules.
        await catalog.PutAsync(new PolicyDocument(policy, [a], [new PolicyRule(_server, PolicyEffect.Allow, ["*"])])).AsTask().WaitAsync(Prompt);
        Assert.Contains(credB.LeaseId["vault-dynamic:".Length..], fixture.Source.Revoked);
        Assert.DoesNotContain(credA.LeaseId["vault-dynamic:".Length..], fixture.Source.Revoked);
        Assert.Equal(credA.LeaseId, (await leaseA.GetStatusAsync()).LeaseId);
        Assert.Null((await leaseB.GetStatusAsync()).LeaseId);
        Assert.Empty(fixture.Interleavings.InterleavedOn(catalog));

        // A is disabled: the workload hands its new flag along, nothing asks it for its grant.
        var workload = Grains.Workload(a);
        await workload.SetEnabledAsync(false).AsTask().WaitAsync(Prompt);
        Assert.Contains(credA.LeaseId["vault-dynamic:".Length..], fixture.Source.Revoked);
        Assert.Null((await leaseA.GetStatusAsync()).LeaseId);
        Assert.Empty(fixture.Interleavings.InterleavedOn(workload));
        Assert.Empty(await Grains.Leases().ListForServerAsync(_server));
    }

    [Fact]
    public async Task A_local_secret_change_reaches_the_leases_built_on_it_without_revealing_from_the_store()
    {
        var secret = "s-" + _server;
        var store = Grains.LocalSecrets();
        await store.PutAsync(secret, "value-1");
        await Grains.Server(_server).PutAsync(Upstream, null,
            new CredentialBinding(CredentialSources.Local, secret, false, new InjectSpec("Authorization", "Bearer {secret}")));
        var lease = Grains.Lease(ICredentialLeaseGrain.KeyFor(_server, null));
        var first = (await lease.GetAsync()).Credential!;
        Assert.Equal("Bearer value-1", first.HeaderValue);

        await store.PutAsync(secret, "value-2").AsTask().WaitAsync(Prompt);

        // Replaced by the change itself (status shows the new revision before any GetAsync re-reads).
        var status = await lease.GetStatusAsync();
        Assert.NotEqual(first.LeaseId, status.LeaseId);
        Assert.Equal("2", status.Version);
        Assert.Equal("Bearer value-2", (await lease.GetAsync()).Credential!.HeaderValue);
        Assert.Empty(fixture.Interleavings.InterleavedOn(store));

        await store.DeleteAsync(secret).AsTask().WaitAsync(Prompt);
        Assert.Null((await lease.GetStatusAsync()).LeaseId);
        Assert.Empty(fixture.Interleavings.InterleavedOn(store));
        Assert.Empty(await Grains.Leases().ListForServerAsync(_server));
    }
}
