namespace Fabric.Silo.Secrets;

[GenerateSerializer, Alias("fabric.lease-directory-state")]
public sealed class LeaseDirectoryState
{
    [Id(0)] public HashSet<string> Keys { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>
/// The keys of the lease grains that hold (or held) a lease, persisted so that a change made
/// after a silo restart still reaches leases taken before it. Reconciling fans out in parallel;
/// a lease grain that fails to reconcile is reported, not retried here (its own expiry bounds it).
/// </summary>
public sealed class LeaseDirectoryGrain(
    [PersistentState("leases", Grains.GrainStorage.Name)] IPersistentState<LeaseDirectoryState> state) : Grain, ILeaseDirectoryGrain
{
    public async ValueTask RegisterAsync(string leaseKey)
    {
        if (state.State.Keys.Add(leaseKey))
        {
            await state.WriteStateAsync();
        }
    }

    public async ValueTask UnregisterAsync(string leaseKey)
    {
        if (state.State.Keys.Remove(leaseKey))
        {
            await state.WriteStateAsync();
        }
    }

    public ValueTask<IReadOnlyList<string>> ListForServerAsync(string server) =>
        ValueTask.FromResult<IReadOnlyList<string>>(
            [.. state.State.Keys.Where(k => ICredentialLeaseGrain.ParseKey(k).Server == server).Order(StringComparer.Ordinal)]);

    public async ValueTask ReconcileAsync(string? server, string? workload)
    {
        var targets = state.State.Keys
            .Select(k => (Key: k, Parsed: ICredentialLeaseGrain.ParseKey(k)))
            .Where(k => server is null || k.Parsed.Server == server)
            .Where(k => workload is null || k.Parsed.Workload == workload)
            .Select(k => k.Key)
            .ToArray();
        var held = await Task.WhenAll(targets.Select(k => GrainFactory.Lease(k).ReconcileAsync().AsTask()));
        var ended = targets.Where((_, i) => !held[i]).ToArray();
        if (ended.Length > 0)
        {
            state.State.Keys.ExceptWith(ended);
            await state.WriteStateAsync();
        }
    }
}
