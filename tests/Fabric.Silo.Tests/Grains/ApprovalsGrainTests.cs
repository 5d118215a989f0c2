using Fabric.Contracts.Approvals;
using Fabric.Contracts.Audit;
using Fabric.Contracts.Grains;
using Fabric.Silo.Tests.Secrets;

namespace Fabric.Silo.Tests.Grains;

/// <summary>
/// Issue 12 §3, the grain's side: an approval is consumed by the one answer that forwards its call; requests nobody
/// decides, and approvals nobody uses, expire after the TTL (900 s by default) and are audited; a revoked identity's
/// requests are cancelled. On the lease cluster's fake clock.
/// </summary>
[Collection(LeaseClusterCollection.Name)]
public sealed class ApprovalsGrainTests(LeaseClusterFixture fixture)
{
    private IApprovalsGrain Approvals => fixture.Client.Approvals();

    private static ApprovalBinding NewBinding(string tool = "deploy") =>
        new($"spiffe://td/agents/{Guid.NewGuid():N}", "prod", tool, new string('a', 64));

    private async Task<AuditRecord[]> AuditOfAsync(string workload) =>
        [.. (await fixture.Client.Audit().QueryAsync(new AuditQuery(workload, null, null, 50))).Records];

    [Fact]
    public async Task An_approval_is_consumed_by_the_one_answer_that_forwards_its_call()
    {
        var binding = NewBinding();
        var pending = await Approvals.RequestAsync(binding, "p", 0);
        Assert.Equal(ApprovalState.Pending, pending.State);
        Assert.Equal(pending.Id, (await Approvals.RequestAsync(binding, "p", 0)).Id);
        // Another tool (or identity, server, arguments) is another request.
        Assert.NotEqual(pending.Id, (await Approvals.RequestAsync(binding with { Tool = "other" }, "p", 0)).Id);

        Assert.Equal(ApprovalDecisionOutcome.Decided, (await Approvals.DecideAsync(pending.Id, approve: true, "alice")).Outcome);
        Assert.Equal(ApprovalState.Approved, (await Approvals.RequestAsync(binding, "p", 0)).State);
        var next = await Approvals.RequestAsync(binding, "p", 0);
        Assert.Equal(ApprovalState.Pending, next.State);
        Assert.NotEqual(pending.Id, next.Id);
        Assert.Equal(ApprovalState.Consumed, (await Approvals.GetAsync(pending.Id))!.State);
        Assert.Equal("alice", (await Approvals.GetAsync(pending.Id))!.DecidedBy);
        Assert.Equal(ApprovalDecisionOutcome.NotPending, (await Approvals.DecideAsync(pending.Id, approve: false, "bob")).Outcome);
        Assert.Equal(ApprovalDecisionOutcome.NotFound, (await Approvals.DecideAsync(ApprovalIds.New(), approve: true, "bob")).Outcome);
    }

    [Fact]
    public async Task Undecided_requests_and_unused_approvals_expire_and_are_audited()
    {
        var waiting = NewBinding();
        var unused = waiting with { Tool = "unused" };
        var request = await Approvals.RequestAsync(waiting, "p", 1);
        var approved = await Approvals.RequestAsync(unused, "p", 1);
        fixture.Time.Advance(TimeSpan.FromSeconds(600));
        await Approvals.DecideAsync(approved.Id, approve: true, "alice"); // good for one call within the TTL from now

        fixture.Time.Advance(TimeSpan.FromSeconds(301));
        Assert.Equal(ApprovalState.Expired, (await Approvals.GetAsync(request.Id))!.State);
        Assert.Equal(ApprovalDecisionOutcome.NotPending, (await Approvals.DecideAsync(request.Id, approve: true, "late")).Outcome);
        Assert.Equal(ApprovalState.Approved, (await Approvals.GetAsync(approved.Id))!.State);
        fixture.Time.Advance(TimeSpan.FromSeconds(600));
        Assert.Equal(ApprovalState.Expired, (await Approvals.GetAsync(approved.Id))!.State);
        // After expiry the same call is asked for afresh.
        Assert.NotEqual(request.Id, (await Approvals.RequestAsync(waiting, "p", 1)).Id);

        var audit = await AuditOfAsync(waiting.Workload);
        Assert.Contains(audit, r => r.ApprovalId == request.Id && r.Kind == "approval-expired" && r.Name == "deploy" && r.Policy == "p" && r.Rule == 1 && !r.Allowed);
        Assert.Contains(audit, r => r.ApprovalId == approved.Id && r.Kind == "approval-expired");
    }

    [Fact]
    public async Task A_denial_refuses_the_same_call_until_the_request_expires()
    {
        var binding = NewBinding();
        var request = await Approvals.RequestAsync(binding, "p", 0);
        await Approvals.DecideAsync(request.Id, approve: false, "alice");
        Assert.Equal(ApprovalState.Denied, (await Approvals.RequestAsync(binding, "p", 0)).State);
        Assert.Contains(await AuditOfAsync(binding.Workload), r => r.ApprovalId == request.Id && r.Kind == "approval-denied");

        fixture.Time.Advance(TimeSpan.FromSeconds(901));
        Assert.Equal(ApprovalState.Pending, (await Approvals.RequestAsync(binding, "p", 0)).State);
    }

    [Fact]
    public async Task Revoking_an_identity_cancels_its_pending_and_approved_requests_only()
    {
        var binding = NewBinding();
        var pending = await Approvals.RequestAsync(binding, "p", 0);
        var approved = await Approvals.RequestAsync(binding with { Tool = "b" }, "p", 0);
        await Approvals.DecideAsync(approved.Id, approve: true, "alice");
        var someoneElse = await Approvals.RequestAsync(NewBinding(), "p", 0);

        Assert.Equal(2, await Approvals.CancelForAsync(binding.Workload));
        Assert.Equal(ApprovalState.Cancelled, (await Approvals.GetAsync(pending.Id))!.State);
        Assert.Equal(ApprovalState.Cancelled, (await Approvals.GetAsync(approved.Id))!.State);
        Assert.Equal(ApprovalState.Pending, (await Approvals.GetAsync(someoneElse.Id))!.State);
        Assert.Equal(ApprovalState.Pending, (await Approvals.RequestAsync(binding with { Tool = "b" }, "p", 0)).State);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("apr_")]
    [InlineData("apr_AAAAAAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("apr_aaaaaaaaaaaaaaaaaaaaaaaaa1")]
    [InlineData("xpr_aaaaaaaaaaaaaaaaaaaaaaaaaa")]
    public void Only_ids_the_fabric_could_have_made_are_well_formed(string? id) => Assert.False(ApprovalIds.IsWellFormed(id));

    [Fact]
    public void New_ids_are_well_formed_and_distinct()
    {
        var ids = Enumerable.Range(0, 1000).Select(_ => ApprovalIds.New()).ToHashSet();
        Assert.Equal(1000, ids.Count);
        Assert.All(ids, id => Assert.True(ApprovalIds.IsWellFormed(id)));
    }
}
