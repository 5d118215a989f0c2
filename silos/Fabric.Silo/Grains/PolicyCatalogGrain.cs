using Fabric.Contracts.Identity;
using Fabric.Contracts.Policy;

namespace Fabric.Silo.Grains;

/// <summary>
/// The versioned policy set. Policies are validated before they are accepted (a rejected one leaves
/// the catalog as it was) and compiled once per version; every change bumps the version and is
/// pushed to every edge before the call returns.
/// </summary>
public sealed class PolicyCatalogGrain(
    [PersistentState("catalog", GrainStorage.Name)] IPersistentState<PolicyCatalogState> state,
    TimeProvider time) : Grain, IPolicyCatalogGrain
{
    private PolicyCatalog? _compiled;

    private PolicyCatalog Compiled =>
        _compiled ??= new PolicyCatalog(state.State.Version, state.State.Policies.Values.Select(p => p.Policy));

    public async ValueTask<PolicyPutResult> PutAsync(PolicyDocument policy)
    {
        var errors = PolicyValidator.Validate(policy);
        if (errors.Count > 0)
        {
            return new PolicyPutResult(null, errors);
        }
        var version = state.State.Version + 1;
        state.State.Policies[policy.Name] = new VersionedPolicy(policy, version, time.GetUtcNow());
        await CommitAsync(version);
        return new PolicyPutResult(version, null);
    }

    public async ValueTask<long?> DeleteAsync(string name)
    {
        if (!state.State.Policies.Remove(name))
        {
            return null;
        }
        var version = state.State.Version + 1;
        await CommitAsync(version);
        return version;
    }

    public ValueTask<VersionedPolicy?> GetAsync(string name) =>
        ValueTask.FromResult(state.State.Policies.GetValueOrDefault(name));

    public ValueTask<IReadOnlyList<VersionedPolicy>> ListAsync() =>
        ValueTask.FromResult<IReadOnlyList<VersionedPolicy>>(
            [.. state.State.Policies.Values.OrderBy(p => p.Policy.Name, StringComparer.Ordinal)]);

    public ValueTask<(long Version, IReadOnlyList<GrantedRule> Rules)> GetRulesAsync(SpiffeId workload, string server)
    {
        var compiled = Compiled;
        // An egress key ("egress:<target>") asks for the egress rules on that target: one grant path, cache and invalidation for both legs.
        return ValueTask.FromResult((compiled.Version, Fabric.Contracts.Servers.EgressTargetDefinition.TryParseKey(server, out var target)
            ? compiled.EgressRulesFor(workload, target)
            : compiled.RulesFor(workload, server)));
    }

    private async Task CommitAsync(long version)
    {
        state.State.Version = version;
        _compiled = null;
        await state.WriteStateAsync();
        await GrainFactory.Hub().PublishAsync(new Invalidation(InvalidationKind.Catalog, null, version));
        // A grant that went away ends the per-workload leases it held. The directory is handed the new
        // policies: nothing it reaches reads rules back from this grain while this call is running.
        await GrainFactory.Leases().ReconcileCatalogAsync(version, Compiled.Policies.ToArray());
    }
}
