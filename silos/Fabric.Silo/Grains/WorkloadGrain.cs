using Fabric.Contracts.Identity;
using Fabric.Contracts.Policy;

namespace Fabric.Silo.Grains;

/// <summary>
/// One workload identity (key = its SPIFFE ID). Hands out the grant edges decide from, decides
/// what-if questions, holds the enabled flag and the decided-call counters.
/// <para>
/// The counters are statistics (the audit log is the durable record of each call): they are persisted at
/// most once per <see cref="CounterFlush"/> and on deactivation, not on every audit batch, which would be
/// one storage write per workload per batch (a Redis write each, in cluster mode). A silo that dies loses at
/// most that window of counts; the enabled flag is written at once, always.
/// </para>
/// </summary>
public sealed class WorkloadGrain(
    [PersistentState("workload", GrainStorage.Name)] IPersistentState<WorkloadState> state,
    TimeProvider time) : Grain, IWorkloadGrain
{
    public static readonly TimeSpan CounterFlush = TimeSpan.FromSeconds(5);

    private SpiffeId? _id;
    private bool _countersDirty;
    private IGrainTimer? _counterTimer;

    /// <summary>The parsed key; a grain activated under a malformed key denies everything.</summary>
    private SpiffeId? Id => _id ??= SpiffeId.TryParse(this.GetPrimaryKeyString(), out var id) ? id : null;

    public async ValueTask<WorkloadGrant> GetGrantAsync(string server)
    {
        if (Id is not { IsWorkload: true } id)
        {
            return WorkloadGrant.None;
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
        if (grant.MatchesAnnotations && message is { Method: "tools/call", Name: { } tool })
        {
            // Rules on annotations match what the operator attested in the server's lock, never what the caller says.
            message = message with { Attested = (await GrainFactory.ToolLock(server).GetViewAsync()).AttestedOf(tool) };
        }
        else if (message.Attested is not null)
        {
            message = message with { Attested = null };
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
        _countersDirty = false; // written with the flag
        await state.WriteStateAsync();
        await GrainFactory.Hub().PublishAsync(new Invalidation(InvalidationKind.Workload, this.GetPrimaryKeyString(), 0));
        // Handed the new flag: the leases do not ask this grain (still in this call) for its grant.
        await GrainFactory.Leases().ReconcileWorkloadAsync(this.GetPrimaryKeyString(), enabled);

        return Status();
    }

    public ValueTask RecordAsync(long allowed, long denied)
    {
        state.State.Allowed += allowed;
        state.State.Denied += denied;
        state.State.LastSeen = time.GetUtcNow();
        if (!_countersDirty)
        {
            _countersDirty = true;
            if (_counterTimer is null)
            {
                _counterTimer = this.RegisterGrainTimer(FlushCountersAsync, new GrainTimerCreationOptions(CounterFlush, Timeout.InfiniteTimeSpan));
            }
            else
            {
                _counterTimer.Change(CounterFlush, Timeout.InfiniteTimeSpan);
            }
        }
        return ValueTask.CompletedTask;
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        if (reason.ReasonCode == DeactivationReasonCode.ShuttingDown && ServiceProvider.GetService<GrainStorageDurability>() is { OutlivesSilo: false })
        {
            return; // the counters' storage stops with this silo: nothing would keep them
        }
        await FlushCountersAsync(cancellationToken);
    }

    private async Task FlushCountersAsync(CancellationToken cancellationToken)
    {
        if (!_countersDirty)
        {
            return;
        }
        _countersDirty = false;
        try
        {
            await state.WriteStateAsync(cancellationToken);
        }
        catch
        {
            // Still owed: try again a window later (counts keep accumulating in memory meanwhile).
            _countersDirty = true;
            _counterTimer?.Change(CounterFlush, Timeout.InfiniteTimeSpan);
            throw;
        }
    }

    private WorkloadStatus Status() => new(
        this.GetPrimaryKeyString(), !state.State.Disabled, state.State.Allowed, state.State.Denied, state.State.LastSeen);
}
