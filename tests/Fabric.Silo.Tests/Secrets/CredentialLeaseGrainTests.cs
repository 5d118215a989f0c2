using Fabric.Contracts.Grains;
using Fabric.Contracts.Policy;
using Fabric.Contracts.Servers;
using Fabric.Silo.Secrets;

namespace Fabric.Silo.Tests.Secrets;

/// <summary>The lease lifecycle: fetch on demand, renew at 2/3, replace, revoke, survive outages.</summary>
[Collection(LeaseClusterCollection.Name)]
public sealed class CredentialLeaseGrainTests(LeaseClusterFixture fixture) : IAsyncLifetime
{
    private readonly string _server = "srv-" + Guid.NewGuid().ToString("N")[..10];
    private FakeLeasingSource Source => fixture.Source;
    private IClusterClient Grains => fixture.Client;

    public Task InitializeAsync()
    {
        Source.FailFetch = null;
        Source.FailRenew = null;
        Source.Renewable = true;
        Source.LeaseDuration = TimeSpan.FromHours(1);
        return Task.CompletedTask;
    }

    public Task DisposeAsync() => Task.CompletedTask;

    private string Path => "database/creds/" + _server;

    private CredentialBinding Binding(bool perWorkload = false) =>
        new(CredentialSources.VaultDynamic, null, perWorkload, new InjectSpec("Authorization", "Bearer {secret}"), Path: Path, Field: "password");

    private async Task<ICredentialLeaseGrain> ServerWithLeaseAsync(bool perWorkload = false, string? workload = null)
    {
        await Grains.Server(_server).PutAsync(new Uri("https://tools.example/mcp"), null, Binding(perWorkload));
        return Grains.Lease(ICredentialLeaseGrain.KeyFor(_server, workload));
    }

    [Fact]
    public async Task A_lease_is_fetched_once_and_handed_out_until_it_is_due_for_renewal()
    {
        var lease = await ServerWithLeaseAsync();
        var fetches = Source.FetchesOf(Path);

        var first = await lease.GetAsync();
        fixture.Time.Advance(TimeSpan.FromMinutes(30));
        var second = await lease.GetAsync();

        Assert.Equal(fetches + 1, Source.FetchesOf(Path));
        Assert.Equal(first.Credential!.LeaseId, second.Credential!.LeaseId);
        Assert.StartsWith($"vault-dynamic:{Path}/lease-", first.Credential.LeaseId, StringComparison.Ordinal);
        Assert.StartsWith("Bearer fake-secret-", first.Credential.HeaderValue, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_renewable_lease_is_renewed_at_two_thirds_of_its_life()
    {
        var lease = await ServerWithLeaseAsync();
        var first = (await lease.GetAsync()).Credential!;
        var renewals = Source.RenewalsOf(Path);

        fixture.Time.Advance(TimeSpan.FromMinutes(41));
        var renewed = (await lease.GetAsync()).Credential!;

        Assert.Equal(renewals + 1, Source.RenewalsOf(Path));
        Assert.Equal(first.LeaseId, renewed.LeaseId);
        Assert.True(renewed.ExpiresAt > first.ExpiresAt);
        Assert.NotNull((await lease.GetStatusAsync()).LastRenewal);
    }

    [Fact]
    public async Task A_lease_that_cannot_be_renewed_is_replaced_and_the_old_one_revoked()
    {
        var lease = await ServerWithLeaseAsync();
        var first = (await lease.GetAsync()).Credential!;
        Source.FailRenew = SecretSourceError.InvalidRequest;

        fixture.Time.Advance(TimeSpan.FromMinutes(41));
        var replaced = (await lease.GetAsync()).Credential!;

        Assert.NotEqual(first.LeaseId, replaced.LeaseId);
        Assert.NotEqual(first.HeaderValue, replaced.HeaderValue);
        Assert.Contains(first.LeaseId["vault-dynamic:".Length..], Source.Revoked);
    }

    [Fact]
    public async Task While_the_source_is_down_the_current_lease_serves_until_its_end_then_the_call_fails_closed()
    {
        Source.Renewable = false;
        var lease = await ServerWithLeaseAsync();
        var first = (await lease.GetAsync()).Credential!;
        Source.FailFetch = SecretSourceError.Unavailable;

        fixture.Time.Advance(TimeSpan.FromMinutes(45));
        var during = await lease.GetAsync();
        var attempts = Source.FetchesOf(Path);
        for (var i = 0; i < 20; i++)
        {
            await lease.GetAsync();   // inside the backoff window: no new attempt
        }
        Assert.Equal(attempts, Source.FetchesOf(Path));
        fixture.Time.Advance(TimeSpan.FromMinutes(16));
        var after = await lease.GetAsync();

        Assert.Equal(first.LeaseId, during.Credential?.LeaseId);
        Assert.Null(after.Credential);
        Assert.Contains("Unavailable", after.Error, StringComparison.Ordinal);
        var status = await lease.GetStatusAsync();
        Assert.Contains("Unavailable", status.LastError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Changing_the_binding_revokes_the_lease_at_its_source()
    {
        var lease = await ServerWithLeaseAsync();
        var first = (await lease.GetAsync()).Credential!;

        await Grains.Server(_server).PutAsync(new Uri("https://tools.example/mcp"), null,
            Binding() with { Inject = new InjectSpec("X-Api-Key", "{secret}") });

        Assert.Contains(first.LeaseId["vault-dynamic:".Length..], Source.Revoked);
        var next = (await lease.GetAsync()).Credential!;
        Assert.NotEqual(first.LeaseId, next.LeaseId);
        Assert.Equal("X-Api-Key", next.HeaderName);
    }

    [Fact]
    public async Task Deleting_the_server_revokes_the_lease()
    {
        var lease = await ServerWithLeaseAsync();
        var first = (await lease.GetAsync()).Credential!;

        await Grains.Server(_server).DeleteAsync();

        Assert.Contains(first.LeaseId["vault-dynamic:".Length..], Source.Revoked);
        Assert.Null((await lease.GetAsync()).Credential);
    }

    [Fact]
    public async Task Rotation_takes_a_new_lease_and_revokes_the_old_one()
    {
        var lease = await ServerWithLeaseAsync();
        var first = (await lease.GetAsync()).Credential!;

        var status = await lease.RotateAsync();

        Assert.NotEqual(first.LeaseId, status.LeaseId);
        Assert.Contains(first.LeaseId["vault-dynamic:".Length..], Source.Revoked);
        Assert.Equal(status.LeaseId, (await lease.GetAsync()).Credential!.LeaseId);
    }

    [Fact]
    public async Task Per_workload_leases_are_distinct_and_end_with_their_grant_or_their_workload()
    {
        var a = $"spiffe://fabric.local/agents/{Guid.NewGuid():N}";
        var b = $"spiffe://fabric.local/agents/{Guid.NewGuid():N}";
        var policy = "p-" + Guid.NewGuid().ToString("N")[..8];
        await Grains.Catalog().PutAsync(new PolicyDocument(policy, [a, b], [new PolicyRule(_server, PolicyEffect.Allow, ["*"])]));
        var leaseA = await ServerWithLeaseAsync(perWorkload: true, workload: a);
        var leaseB = Grains.Lease(ICredentialLeaseGrain.KeyFor(_server, b));
        var credA = (await leaseA.GetAsync()).Credential!;
        var credB = (await leaseB.GetAsync()).Credential!;
        Assert.NotEqual(credA.LeaseId, credB.LeaseId);
        Assert.Equal(new[] { ICredentialLeaseGrain.KeyFor(_server, a), ICredentialLeaseGrain.KeyFor(_server, b) }.Order(StringComparer.Ordinal),
            (await Grains.Leases().ListForServerAsync(_server)).Order(StringComparer.Ordinal).ToArray());

        // B loses its grant: only B's lease is revoked.
        await Grains.Catalog().PutAsync(new PolicyDocument(policy, [a], [new PolicyRule(_server, PolicyEffect.Allow, ["*"])]));
        Assert.Contains(credB.LeaseId["vault-dynamic:".Length..], Source.Revoked);
        Assert.DoesNotContain(credA.LeaseId["vault-dynamic:".Length..], Source.Revoked);

        // A is disabled: its lease is revoked too.
        await Grains.Workload(a).SetEnabledAsync(false);
        Assert.Contains(credA.LeaseId["vault-dynamic:".Length..], Source.Revoked);
    }

    [Fact]
    public async Task A_change_reaches_only_the_leases_it_may_end()
    {
        var agent = $"spiffe://fabric.local/agents/{Guid.NewGuid():N}";
        var policy = "p-" + Guid.NewGuid().ToString("N")[..8];
        var (secretA, secretB) = ("a-" + _server, "b-" + _server);
        await Grains.LocalSecrets().PutAsync(secretA, "value-a");
        await Grains.LocalSecrets().PutAsync(secretB, "value-b");
        async Task<string> LeasedAsync(string server, CredentialBinding binding, string? workload = null)
        {
            await Grains.Server(server).PutAsync(new Uri("https://tools.example/mcp"), null, binding);
            var key = ICredentialLeaseGrain.KeyFor(server, workload);
            Assert.NotNull((await Grains.Lease(key).GetAsync()).Credential);
            return key;
        }
        CredentialBinding Local(string secret) => new(CredentialSources.Local, secret, false, new InjectSpec("Authorization", "Bearer {secret}"));
        await Grains.Catalog().PutAsync(new PolicyDocument(policy, [agent], [new PolicyRule(_server + "-w", PolicyEffect.Allow, ["*"])]));
        var shared = await LeasedAsync(_server, Binding());
        var perWorkload = await LeasedAsync(_server + "-w", Binding(perWorkload: true), agent);
        var onA = await LeasedAsync(_server + "-a", Local(secretA));
        var onB = await LeasedAsync(_server + "-b", Local(secretB));

        var catalog = await Grains.Catalog().ListAsync();
        var afterGrantChange = await Grains.Leases().ReconcileCatalogAsync(catalog.Max(p => p.Version), [.. catalog.Select(p => p.Policy)]);
        Assert.Contains(perWorkload, afterGrantChange);
        Assert.DoesNotContain(shared, afterGrantChange);
        Assert.DoesNotContain(onA, afterGrantChange);

        async Task<IReadOnlyList<string>> SecretChangedAsync(string name) =>
            await Grains.Leases().ReconcileLocalSecretAsync(name, await Grains.LocalSecrets().RevealAsync(name));
        var afterSecretChange = await SecretChangedAsync(secretA);
        Assert.Contains(onA, afterSecretChange);
        Assert.DoesNotContain(onB, afterSecretChange);
        Assert.DoesNotContain(shared, afterSecretChange);
        Assert.DoesNotContain(perWorkload, afterSecretChange);

        // Rebinding the server to secret B moves its lease: a change to A no longer reaches it, one to B does.
        await Grains.Server(_server + "-a").PutAsync(new Uri("https://tools.example/mcp"), null, Local(secretB));
        Assert.Equal("Bearer value-b", (await Grains.Lease(onA).GetAsync()).Credential!.HeaderValue);
        Assert.DoesNotContain(onA, await SecretChangedAsync(secretA));
        Assert.Contains(onA, await SecretChangedAsync(secretB));

        // And the real change still lands: a new value for B is what both its leases hand out next.
        await Grains.LocalSecrets().PutAsync(secretB, "value-b2");
        Assert.Equal("Bearer value-b2", (await Grains.Lease(onA).GetAsync()).Credential!.HeaderValue);
        Assert.Equal("Bearer value-b2", (await Grains.Lease(onB).GetAsync()).Credential!.HeaderValue);
    }

    [Fact]
    public async Task The_status_names_the_lease_but_never_shows_the_value()
    {
        var lease = await ServerWithLeaseAsync();
        var credential = (await lease.GetAsync()).Credential!;

        var status = await lease.GetStatusAsync();

        Assert.Equal("vault-dynamic", status.Source);
        Assert.Equal(credential.LeaseId, status.LeaseId);
        Assert.True(status.Renewable);
        Assert.Equal(credential.ExpiresAt, status.ExpiresAt);
        var secret = credential.HeaderValue["Bearer ".Length..];
        Assert.DoesNotContain(secret, status.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(secret, credential.ToString(), StringComparison.Ordinal);
    }
}
