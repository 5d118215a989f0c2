using Fabric.Contracts.Approvals;

namespace Fabric.Contracts.Grains;

/// <summary>
/// The approval requests of the cluster (issue 12 §3; one grain, <see cref="FabricGrains.Approvals"/>): created by edges
/// for calls a rule says need approval, decided by admins through the management API, consumed by the edge that
/// forwards the approved call. The decision lives here: nothing an agent sends can approve a call.
/// </summary>
[Alias("fabric.IApprovalsGrain")]
public interface IApprovalsGrain : IGrainWithStringKey
{
    /// <summary>
    /// For a call that needs approval: an approved request for the same binding is consumed and answered
    /// <see cref="ApprovalState.Approved"/>; a pending or denied one is answered as it is; otherwise a new pending
    /// request is created (and announced to the webhook).
    /// </summary>
    [Alias("Request")]
    ValueTask<ApprovalAnswer> RequestAsync(ApprovalBinding binding, string policy, int rule);

    /// <summary>Every request still kept (pending, and decided ones until they expire), oldest first.</summary>
    [Alias("List")]
    ValueTask<IReadOnlyList<ApprovalRequest>> ListAsync();

    [Alias("Get")]
    ValueTask<ApprovalRequest?> GetAsync(string id);

    /// <summary>An admin's decision on a pending request.</summary>
    [Alias("Decide")]
    ValueTask<ApprovalDecision> DecideAsync(string id, bool approve, string decidedBy);

    /// <summary>Cancels every pending or approved request of <paramref name="workload"/> (its access was revoked); how many.</summary>
    [Alias("CancelFor")]
    ValueTask<int> CancelForAsync(string workload);

    /// <summary>
    /// Access changed (issue 12 §5: a policy, a workload, a server): every open request of <paramref name="workload"/>
    /// on <paramref name="server"/> (null: any) whose call the grant no longer allows with approval is cancelled.
    /// Called by the management API once the change is made (not by the grain that made it: this reads grants back,
    /// so from inside that grain's call it would wait on itself); when the API call returns, the requests are cancelled.
    /// </summary>
    [Alias("Reconcile")]
    ValueTask ReconcileAsync(string? workload, string? server);
}
