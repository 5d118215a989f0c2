using Fabric.Contracts.Identity;
using Fabric.Contracts.Policy;

namespace Fabric.Silo.Grains;

/// <summary>
/// One workload identity (key = its SPIFFE ID). Hands out the grant edges decide from, decides
/// what-if questions, holds the enabled flag and the decided-call counters.
/// </summary>
public sealed class WorkloadGrain(
    [PersistentState("workload", GrainStorage.Name)] IPersistentState<WorkloadState> state,
    TimeProvider time) : Grain, IWorkloadGrain
{
    private SpiffeId? _id;

    /// <summary>The parsed key; a grain activated under a malformed key denies everything.</summary>
    private SpiffeId? Id => _id ??= SpiffeId.TryParse(this.GetPrimaryKeyString(), out var id) ? id : null;

    public async ValueTask<WorkloadGrant> GetGrantAsync(string server)
    {
        if (Id is not { IsWorkload: true } id)
        {
            return new WorkloadGrant(0, Enabled: false, []);
        }
        var (version, rules) = await GrainFactory.Catalog().GetRulesAsync(id, server);
        return new WorkloadGrant(version, !state.State.Disabled, rules);
    }

    public async ValueTask<Decision> DecideAsync(string server, McpCall message)
    {
        var grant = await GetGrantAsync(server);
        if (await GrainFactory.Server(server).GetAsync() is null)
        {
            return Decision.Deny(ReasonCodes.UnknownServer, grant.Version);
        }
        return PolicyEvaluator.Decide(grant, message);
    }

    public ValueTask<WorkloadStatus> GetAsync() => ValueTask.FromResult(Status());

    public async ValueTask<WorkloadStatus> SetEnabledAsync(bool enabled)
    {
        if (state.State.Disabled == !enabled)
        {
            return Status();
        }
        state.State.Disabled = !enabled;
        await state.WriteStateAsync();
        await GrainFactory.Hub().PublishAsync(new Invalidation(InvalidationKind.Workload, this.GetPrimaryKeyString(), 0));
        await GrainFactory.Leases().ReconcileAsync(null, this.GetPrimaryKeyString());
        return Status();
    }

    public async ValueTask RecordAsync(long allowed, long denied)
    {
        state.State.Allowed += allowed;
        state.State.Denied += denied;
        state.State.LastSeen = time.GetUtcNow();
        await state.WriteStateAsync();
    }

    private WorkloadStatus Status() => new(
        this.GetPrimaryKeyString(), !state.State.Disabled, state.State.Allowed, state.State.Denied, state.State.LastSeen);
}
