using Fabric.Contracts.Approvals;
using Fabric.Contracts.Audit;
using Fabric.Contracts.Policy;
using Fabric.Silo.Grains;
using Microsoft.Extensions.Options;

namespace Fabric.Silo.Approvals;

[GenerateSerializer, Alias("fabric.approvals-grain-state")]
public sealed class ApprovalsGrainState
{
    [Id(0)] public Dictionary<string, ApprovalRequest> Requests { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>
/// The cluster's approval requests (issue 12 §3). A request is bound to (identity, server, tool, SHA-256 of the
/// canonical arguments); an admin approves or denies it; the edge that asks again with the same binding after approval
/// is answered <see cref="ApprovalState.Approved"/> once, and the approval is consumed by that answer. Requests that
/// nobody decides (or approvals nobody uses) expire after <see cref="ApprovalOptions.TtlSeconds"/>; expiries and
/// denials are audit records (<c>kind: approval</c>). Requests live in one grain: approvals come at human pace.
/// </summary>
public sealed partial class ApprovalsGrain(
    [PersistentState("approvals", GrainStorage.Name)] IPersistentState<ApprovalsGrainState> state,
    IOptions<ApprovalOptions> options,
    IServiceProvider services,
    TimeProvider time,
    ILogger<ApprovalsGrain> logger) : Grain, IApprovalsGrain
{
    private static readonly TimeSpan SweepEvery = TimeSpan.FromSeconds(5);
    private IGrainTimer? _sweeper;

    private Dictionary<string, ApprovalRequest> Requests => state.State.Requests;
    private TimeSpan Ttl => TimeSpan.FromSeconds(Math.Max(1, options.Value.TtlSeconds));

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        // Expiry is audited when it happens, not when somebody next asks.
        _sweeper = this.RegisterGrainTimer(SweepAsync, new GrainTimerCreationOptions(SweepEvery, SweepEvery) { Interleave = false, KeepAlive = false });
        return Task.CompletedTask;
    }

    public async ValueTask<ApprovalAnswer> RequestAsync(ApprovalBinding binding, string policy, int rule)
    {
        ArgumentNullException.ThrowIfNull(binding);
        await SweepAsync(CancellationToken.None);
        var now = time.GetUtcNow();
        ApprovalRequest? open = null;
        var pending = new List<ApprovalRequest>();
        foreach (var request in Requests.Values)
        {
            if (request.State is ApprovalState.Pending && request.Binding.Workload == binding.Workload)
            {
                pending.Add(request);
            }
            // A denial refuses the same call until the request's expiry; after it, the call may be asked for again.
            if (request.Binding == binding && request.ExpiresAt > now && request.State is ApprovalState.Pending or ApprovalState.Approved or ApprovalState.Denied)
            {
                open = request;
            }
        }
        if (open is { State: ApprovalState.Approved })
        {
            Requests[open.Id] = open with { State = ApprovalState.Consumed };
            await state.WriteStateAsync();
            LogConsumed(logger, open.Id, binding.Workload, binding.Server, binding.Tool);
            return new ApprovalAnswer(ApprovalState.Approved, open.Id, open.ExpiresAt);
        }
        if (open is not null)
        {
            return new ApprovalAnswer(open.State, open.Id, open.ExpiresAt);
        }

        var expired = new List<ApprovalRequest>();
        // Bounded: a caller cannot grow the list past its share; its oldest pending request makes room.
        foreach (var oldest in pending.OrderBy(r => r.CreatedAt).Take(Math.Max(0, pending.Count - Math.Max(1, options.Value.MaxPendingPerWorkload) + 1)))
        {
            expired.Add(Requests[oldest.Id] = oldest with { State = ApprovalState.Expired, DecidedAt = now });
        }
        var created = new ApprovalRequest(ApprovalIds.New(), binding, policy, rule, now, now + Ttl, ApprovalState.Pending);
        Requests[created.Id] = created;
        await state.WriteStateAsync();
        LogRequested(logger, created.Id, binding.Workload, binding.Server, binding.Tool);
        await AuditAsync(expired);
        (services.GetService(typeof(ApprovalWebhook)) as ApprovalWebhook)?.Announce(created);
        return new ApprovalAnswer(ApprovalState.Pending, created.Id, created.ExpiresAt);
    }

    public async ValueTask<IReadOnlyList<ApprovalRequest>> ListAsync()
    {
        await SweepAsync(CancellationToken.None);
        return [.. Requests.Values.OrderBy(r => r.CreatedAt)];
    }

    public async ValueTask<ApprovalRequest?> GetAsync(string id)
    {
        await SweepAsync(CancellationToken.None);
        return Requests.GetValueOrDefault(id);
    }

    public async ValueTask<ApprovalDecision> DecideAsync(string id, bool approve, string decidedBy)
    {
        await SweepAsync(CancellationToken.None);
        if (!Requests.TryGetValue(id, out var request))
        {
            return new ApprovalDecision(ApprovalDecisionOutcome.NotFound, null);
        }
        if (request.State != ApprovalState.Pending)
        {
            return new ApprovalDecision(ApprovalDecisionOutcome.NotPending, request);
        }
        var now = time.GetUtcNow();
        // An approval is good for one call within the TTL from the decision; a denial stands until the request's expiry.
        var decided = request with
        {
            State = approve ? ApprovalState.Approved : ApprovalState.Denied,
            DecidedAt = now,
            DecidedBy = decidedBy,
            ExpiresAt = approve ? now + Ttl : request.ExpiresAt,
        };
        Requests[id] = decided;
        await state.WriteStateAsync();
        LogDecided(logger, id, decided.State, decidedBy);
        if (!approve)
        {
            await AuditAsync([decided]);
        }
        return new ApprovalDecision(ApprovalDecisionOutcome.Decided, decided);
    }

    public async ValueTask<int> CancelForAsync(string workload)
    {
        var now = time.GetUtcNow();
        var cancelled = new List<ApprovalRequest>();
        foreach (var request in Requests.Values.ToList())
        {
            if (request.Binding.Workload == workload && request.State is ApprovalState.Pending or ApprovalState.Approved)
            {
                cancelled.Add(Requests[request.Id] = request with { State = ApprovalState.Cancelled, DecidedAt = now, DecidedBy = "fabric:revocation" });
            }
        }
        if (cancelled.Count > 0)
        {
            await state.WriteStateAsync();
            await AuditAsync(cancelled);
        }
        return cancelled.Count;
    }

    public async ValueTask ReconcileAsync(string? workload, string? server)
    {
        var now = time.GetUtcNow();
        var open = Requests.Values.Where(r => r.State is ApprovalState.Pending or ApprovalState.Approved
            && (workload is null || r.Binding.Workload == workload) && (server is null || r.Binding.Server == server)).ToList();
        var cancelled = new List<ApprovalRequest>();
        foreach (var request in open)
        {
            bool stillGated;
            try
            {
                stillGated = await GrainFactory.Server(request.Binding.Server).GetAsync() is not null
                    && StillGated(await GrainFactory.Workload(request.Binding.Workload).GetGrantAsync(request.Binding.Server), request.Binding.Tool);
            }
            catch (OrleansException ex)
            {
                // Not decided now; the request still expires on its own.
                LogReconcileFailed(logger, request.Id, ex.Message);
                continue;
            }
            if (!stillGated && Requests.TryGetValue(request.Id, out var current) && current.State is ApprovalState.Pending or ApprovalState.Approved)
            {
                cancelled.Add(Requests[request.Id] = current with { State = ApprovalState.Cancelled, DecidedAt = now, DecidedBy = "fabric:revocation" });
            }
        }
        if (cancelled.Count > 0)
        {
            await state.WriteStateAsync();
            await AuditAsync(cancelled);
        }
    }

    /// <summary>
    /// True while the grant could still let the tool through with approval: enabled, no unconditional deny on the
    /// tool, and an allow rule asking for approval that names it (its argument constraints and attested annotations
    /// are not known here, so such a rule counts as applying: cancelling is for access that is gone).
    /// </summary>
    private static bool StillGated(WorkloadGrant grant, string tool)
    {
        if (!grant.Enabled)
        {
            return false;
        }
        var gated = false;
        foreach (var granted in grant.Rules)
        {
            var rule = granted.Rule;
            var names = rule.Annotations is not null ? rule with { Annotations = null } : rule;
            if (!PolicyEvaluator.AppliesTo(names, McpCallKind.Tool, tool))
            {
                continue;
            }
            if (rule.Effect == PolicyEffect.Deny && rule.When is null && rule.Annotations is null)
            {
                return false;
            }
            gated |= rule.Effect == PolicyEffect.Allow && rule.When?.Approval == ApprovalRequirement.Required;
        }
        return gated;
    }

    /// <summary>Expires what is past its time (audited) and forgets what is over and past its retention.</summary>
    private async Task SweepAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var retain = TimeSpan.FromSeconds(Math.Max(0, options.Value.RetainSeconds));
        var expired = new List<ApprovalRequest>();
        var changed = false;
        foreach (var request in Requests.Values.ToList())
        {
            if (request.State is ApprovalState.Pending or ApprovalState.Approved && request.ExpiresAt <= now)
            {
                expired.Add(Requests[request.Id] = request with { State = ApprovalState.Expired });
                changed = true;
            }
            else if (request.State is not (ApprovalState.Pending or ApprovalState.Approved)
                && (request.DecidedAt is { } decided && decided > request.ExpiresAt ? decided : request.ExpiresAt) + retain <= now)
            {
                Requests.Remove(request.Id);
                changed = true;
            }
        }
        if (changed)
        {
            await state.WriteStateAsync(cancellationToken);
        }
        await AuditAsync(expired);
    }

    private async Task AuditAsync(List<ApprovalRequest> requests)
    {
        if (requests.Count == 0)
        {
            return;
        }
        var now = time.GetUtcNow();
        var records = requests.Select(r => new AuditRecord
        {
            Id = Guid.NewGuid(),
            Time = now,
            Edge = "silo",
            Workload = r.Binding.Workload,
            Server = r.Binding.Server,
            Method = McpMethods.ToolsCall,
            Name = r.Binding.Tool,
            Allowed = false,
            Reason = r.State == ApprovalState.Denied ? ReasonCodes.ApprovalDenied : ReasonCodes.ApprovalRequired,
            Policy = r.Policy,
            Rule = r.Rule,
            Kind = "approval-" + r.State.ToString().ToLowerInvariant(),
            ApprovalId = r.Id,
        }).ToList();
        foreach (var request in requests)
        {
            LogOver(logger, request.Id, request.State);
        }
        try
        {
            await GrainFactory.Audit().AppendAsync(records);
        }
        catch (OrleansException ex)
        {
            LogAuditFailed(logger, ex.Message);
        }
    }

    [LoggerMessage(EventId = 3501, Level = LogLevel.Information, Message = "Approval {Id} requested: {Workload} → {Server} {Tool}")]
    private static partial void LogRequested(ILogger logger, string id, string workload, string server, string tool);

    [LoggerMessage(EventId = 3502, Level = LogLevel.Information, Message = "Approval {Id} {State} by {DecidedBy}")]
    private static partial void LogDecided(ILogger logger, string id, ApprovalState state, string decidedBy);

    [LoggerMessage(EventId = 3503, Level = LogLevel.Information, Message = "Approval {Id} consumed: {Workload} → {Server} {Tool} forwarded once")]
    private static partial void LogConsumed(ILogger logger, string id, string workload, string server, string tool);

    [LoggerMessage(EventId = 3504, Level = LogLevel.Information, Message = "Approval {Id} is over: {State}")]
    private static partial void LogOver(ILogger logger, string id, ApprovalState state);

    [LoggerMessage(EventId = 3506, Level = LogLevel.Warning, Message = "Approval {Id} could not be checked against its grant: {Error}")]
    private static partial void LogReconcileFailed(ILogger logger, string id, string error);

    [LoggerMessage(EventId = 3505, Level = LogLevel.Warning, Message = "Approval audit records could not be written: {Error}")]
    private static partial void LogAuditFailed(ILogger logger, string error);
}
