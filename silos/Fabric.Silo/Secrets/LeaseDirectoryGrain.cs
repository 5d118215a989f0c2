namespace Fabric.Silo.Secrets;

[GenerateSerializer, Alias("fabric.lease-directory-state")]
public sealed class LeaseDirectoryState
{
    [Id(0)] public HashSet<string> Keys { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Lease key → the local secret it was built on ("" for other sources). A key missing here may use any.</summary>
    [Id(1)] public Dictionary<string, string> LocalSecrets { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>
/// The keys of the lease grains that hold (or held) a lease, persisted so that a change made
/// after a silo restart still reaches leases taken before it. Each change reaches only the leases
/// it may end: a server's or a workload's by key, a grant's the per-workload ones, a local secret's
/// those built on it. Reconciling fans out in parallel; a lease grain that fails to reconcile is
/// reported, not retried here (its own expiry bounds it).
/// </summary>
public sealed class LeaseDirectoryGrain(
    [PersistentState("leases", Grains.GrainStorage.Name)] IPersistentState<LeaseDirectoryState> state) : Grain, ILeaseDirectoryGrain
{
    public async ValueTask RegisterAsync(string leaseKey, string? localSecret)
    {
        var added = state.State.Keys.Add(leaseKey);
        var source = localSecret ?? "";
        var changed = !state.State.LocalSecrets.TryGetValue(leaseKey, out var known) || known != source;
        state.State.LocalSecrets[leaseKey] = source;
        if (added || changed)
        {
            await state.WriteStateAsync();
        }
    }

    public async ValueTask UnregisterAsync(string leaseKey)
    {
        state.State.LocalSecrets.Remove(leaseKey);
        if (state.State.Keys.Remove(leaseKey))
        {
            await state.WriteStateAsync();
        }
    }

    public ValueTask<IReadOnlyList<string>> ListForServerAsync(string server) =>
        ValueTask.FromResult<IReadOnlyList<string>>(
            [.. state.State.Keys.Where(k => ICredentialLeaseGrain.ParseKey(k).Server == server).Order(StringComparer.Ordinal)]);

    public ValueTask<IReadOnlyList<string>> ReconcileAsync(string? server, string? workload) => ReconcileWhereAsync(key =>
    {
        var parsed = ICredentialLeaseGrain.ParseKey(key);
        return (server is null || parsed.Server == server) && (workload is null || parsed.Workload == workload);
    });

    public ValueTask<IReadOnlyList<string>> ReconcilePerWorkloadAsync() =>
        ReconcileWhereAsync(key => ICredentialLeaseGrain.ParseKey(key).Workload is not null);

    public ValueTask<IReadOnlyList<string>> ReconcileLocalSecretAsync(string name) =>
        ReconcileWhereAsync(key => !state.State.LocalSecrets.TryGetValue(key, out var secret) || secret == name);

    private async ValueTask<IReadOnlyList<string>> ReconcileWhereAsync(Func<string, bool> affected)
    {
        var targets = state.State.Keys.Where(affected).ToArray();
        var held = await Task.WhenAll(targets.Select(k => GrainFactory.Lease(k).ReconcileAsync().AsTask()));
        var ended = targets.Where((_, i) => !held[i]).ToArray();
        if (ended.Length > 0)
        {
            state.State.Keys.ExceptWith(ended);
            foreach (var key in ended)
            {
                state.State.LocalSecrets.Remove(key);
            }
            await state.WriteStateAsync();
        }
        return targets;
    }
}
