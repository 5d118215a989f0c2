using Microsoft.Extensions.DependencyInjection;
using System.Collections.Concurrent;
using System.Diagnostics;
using Fabric.Contracts.Grains;
using Fabric.Contracts.Policy;

namespace Fabric.Silo.Tests.Grains;

/// <summary>
/// Observers on the cluster client stand in for edges. The hub awaits every acknowledgement, so
/// each assertion runs right after the management call returns: no sleeps, no polling.
/// </summary>
[Collection(ClusterCollectionDefinition.Name)]
public sealed class InvalidationHubGrainTests(ClusterFixture fixture)
{
    private IInvalidationHubGrain Hub => fixture.Client.GetGrain<IInvalidationHubGrain>("default");

    [Fact]
    public async Task A_policy_put_or_delete_reaches_the_observer_before_the_call_returns()
    {
        await using var edge = await SubscribeAsync(new RecordingObserver());
        var name = "hub-" + Guid.NewGuid().ToString("N")[..10];

        var put = await fixture.Client.Catalog().PutAsync(
            new PolicyDocument(name, ["spiffe://fabric.local/hub/*"], [new PolicyRule("srv", PolicyEffect.Allow)]));
        Assert.Contains(new Invalidation(InvalidationKind.Catalog, null, put.Version!.Value), edge.Observer.Received);

        var deleted = await fixture.Client.Catalog().DeleteAsync(name);
        Assert.Contains(new Invalidation(InvalidationKind.Catalog, null, deleted!.Value), edge.Observer.Received);
    }

    [Fact]
    public async Task A_rejected_policy_publishes_nothing()
    {
        await using var edge = await SubscribeAsync(new RecordingObserver());

        var put = await fixture.Client.Catalog().PutAsync(new PolicyDocument("hub-bad", ["not a subject"], [new PolicyRule("srv", PolicyEffect.Allow)]));

        Assert.Null(put.Version);
        Assert.Empty(edge.Observer.Received);
    }

    [Fact]
    public async Task Disabling_a_workload_reaches_the_observer_with_its_spiffe_id_before_the_call_returns()
    {
        await using var edge = await SubscribeAsync(new RecordingObserver());
        var workload = "spiffe://fabric.local/hub/" + Guid.NewGuid().ToString("N")[..10];

        await fixture.Client.Workload(workload).SetEnabledAsync(false);

        Assert.Contains(edge.Observer.Received, i => i.Kind == InvalidationKind.Workload && i.Key == workload);
    }

    [Fact]
    public async Task Putting_or_deleting_a_server_reaches_the_observer_with_its_name_and_revision_before_the_call_returns()
    {
        await using var edge = await SubscribeAsync(new RecordingObserver());
        var server = "hub-" + Guid.NewGuid().ToString("N")[..10];

        var stored = await fixture.Client.Server(server).PutAsync(new Uri("https://tools.example.com/mcp"), null, null);
        Assert.Contains(new Invalidation(InvalidationKind.Server, server, stored.Revision), edge.Observer.Received);

        Assert.True(await fixture.Client.Server(server).DeleteAsync());
        Assert.Contains(new Invalidation(InvalidationKind.Server, server, stored.Revision + 1), edge.Observer.Received);
    }

    [Fact]
    public async Task Putting_or_deleting_a_secret_drops_every_cached_credential_before_the_call_returns()
    {
        await using var edge = await SubscribeAsync(new RecordingObserver());
        var name = "hub-" + Guid.NewGuid().ToString("N")[..10];

        await fixture.Client.LocalSecrets().PutAsync(name, "value");
        Assert.Contains(new Invalidation(InvalidationKind.Credential, null, 0), edge.Observer.Received);
        edge.Observer.Received.Clear();

        await fixture.Client.LocalSecrets().DeleteAsync(name);
        Assert.Contains(new Invalidation(InvalidationKind.Credential, null, 0), edge.Observer.Received);
    }

    [Fact]
    public async Task An_unsubscribed_observer_receives_nothing_more()
    {
        var edge = await SubscribeAsync(new RecordingObserver());
        await edge.DisposeAsync();

        await Hub.PublishAsync(new Invalidation(InvalidationKind.Bundle, "fabric.local", 1));

        Assert.Empty(edge.Observer.Received);
    }

    [Fact]
    public async Task An_observer_that_throws_is_dropped_without_holding_up_the_others()
    {
        await using var healthy = await SubscribeAsync(new RecordingObserver());
        await using var failing = await SubscribeAsync(new ThrowingObserver());
        var first = new Invalidation(InvalidationKind.Bundle, "first-" + Guid.NewGuid().ToString("N"), 1);
        var second = first with { Key = "second-" + Guid.NewGuid().ToString("N"), Version = 2 };

        var elapsed = Stopwatch.StartNew();
        await Hub.PublishAsync(first);
        await Hub.PublishAsync(second);
        elapsed.Stop();

        Assert.Equal([first, second], healthy.Observer.Received.Where(i => i.Kind == InvalidationKind.Bundle));
        // Called for the first publish only: it was dropped after failing.
        Assert.Equal(1, failing.Observer.Calls);
        Assert.True(elapsed.Elapsed < TimeSpan.FromSeconds(2), $"publishing took {elapsed.Elapsed}");
    }

    [Fact]
    public async Task Subscribers_are_persisted_so_a_reactivated_hub_still_reaches_them_and_the_epoch_is_stable_per_activation()
    {
        var observer = new RecordingObserver();
        await using var edge = await SubscribeAsync(observer);
        var reference = fixture.Client.CreateObjectReference<IFabricObserver>(observer);
        var epoch = await Hub.SubscribeAsync(reference);

        var storage = fixture.SiloServices.GetRequiredKeyedService<Orleans.Storage.IGrainStorage>("fabric");
        var state = new GrainState<Fabric.Silo.Grains.InvalidationHubState>();
        await storage.ReadStateAsync("hub", ((GrainReference)Hub).GrainId, state);

        Assert.Contains(reference, state.State!.Observers);
        Assert.Equal(epoch, await Hub.SubscribeAsync(reference));
        await Hub.UnsubscribeAsync(reference);
        fixture.Client.DeleteObjectReference<IFabricObserver>(reference);
    }

    private async Task<Subscription<T>> SubscribeAsync<T>(T observer) where T : IFabricObserver
    {
        var reference = fixture.Client.CreateObjectReference<IFabricObserver>(observer);
        await Hub.SubscribeAsync(reference);
        return new Subscription<T>(observer, reference, Hub, fixture.Client);
    }

    /// <summary>Holds the observer alive (the client only keeps a weak reference) until it unsubscribes.</summary>
    private sealed class Subscription<T>(T observer, IFabricObserver reference, IInvalidationHubGrain hub, IClusterClient client) : IAsyncDisposable
        where T : IFabricObserver
    {
        public T Observer { get; } = observer;

        public async ValueTask DisposeAsync()
        {
            await hub.UnsubscribeAsync(reference);
            client.DeleteObjectReference<IFabricObserver>(reference);
        }
    }

    private sealed class RecordingObserver : IFabricObserver
    {
        public ConcurrentQueue<Invalidation> Received { get; } = new();

        public Task OnInvalidatedAsync(Invalidation invalidation)
        {
            Received.Enqueue(invalidation);
            return Task.CompletedTask;
        }
    }

    private sealed class ThrowingObserver : IFabricObserver
    {
        private int _calls;

        public int Calls => Volatile.Read(ref _calls);

        public Task OnInvalidatedAsync(Invalidation invalidation)
        {
            Interlocked.Increment(ref _calls);
            throw new InvalidOperationException("this edge is broken");
        }
    }
}
