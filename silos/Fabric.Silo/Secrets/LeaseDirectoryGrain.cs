using Fabric.Contracts.Identity;
using Fabric.Contracts.Policy;
using Fabric.Contracts.Servers;

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
/// reported, not retried here (its own expiry bounds it). Each change carries its new value to the
/// leases (<see cref="LeaseChange"/>), so no lease reads it back from the grain that made it.
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

    public ValueTask<IReadOnlyList<string>> ReconcileServerAsync(string server, McpServerDefinition? definition) =>
        ReconcileWhereAsync(key => ICredentialLeaseGrain.ParseKey(key).Server == server, _ => LeaseChange.ServerChanged(definition));

    public ValueTask<IReadOnlyList<string>> ReconcileWorkloadAsync(string workload, bool enabled) =>
        ReconcileWhereAsync(key => ICredentialLeaseGrain.ParseKey(key).Workload == workload, _ => LeaseChange.WorkloadChanged(enabled));

    public ValueTask<IReadOnlyList<string>> ReconcileCatalogAsync(long version, IReadOnlyList<PolicyDocument> policies)
    {
        // Compiled once here for every per-workload lease, rather than once per lease grain.
        var catalog = new PolicyCatalog(version, policies);
        return ReconcileWhereAsync(key => ICredentialLeaseGrain.ParseKey(key).Workload is not null, key =>
        {
            var (server, workload) = ICredentialLeaseGrain.ParseKey(key);
            // The same gate as the workload's grant: a key that is not a workload ID is granted nothing. A per-agent egress
            // lease is the agent's for the calls its launched server makes: those are decided one by one on the server's
            // egress rules, and the agent holds no rule on the target itself.
            var allows = workload is not null && SpiffeId.TryParse(workload, out var id) && id.IsWorkload
                && (EgressTargetDefinition.TryParseKey(server, out _) || catalog.GrantFor(id, server, enabled: true).AllowsServer);
            return LeaseChange.GrantChanged(allows);
        });
    }

    public ValueTask<IReadOnlyList<string>> ReconcileLocalSecretAsync(string name, SecretReveal? secret) =>
        ReconcileWhereAsync(key => !state.State.LocalSecrets.TryGetValue(key, out var source) || source == name,
            _ => LeaseChange.LocalSecretChanged(name, secret));

    private async ValueTask<IReadOnlyList<string>> ReconcileWhereAsync(Func<string, bool> affected, Func<string, LeaseChange> change)
    {
        var targets = state.State.Keys.Where(affected).ToArray();
        var held = await Task.WhenAll(targets.Select(k => GrainFactory.Lease(k).ReconcileAsync(change(k)).AsTask()));
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
