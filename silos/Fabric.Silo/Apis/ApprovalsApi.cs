using Fabric.Contracts.Approvals;
using Fabric.Contracts.Grains;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Fabric.Silo.Apis;

/// <summary>
/// <c>/v1/approvals</c> (issue 12 §3): the calls waiting for an admin, and the admin's decision. Approving lets the
/// same call (same identity, server, tool and arguments) through once; denying refuses it until the request expires.
/// </summary>
internal static class ApprovalsApi
{
    public sealed record ApprovalView(
        string Id, string Workload, string Server, string Tool, string ArgumentsSha256, string Policy, int Rule, ApprovalState State,
        DateTimeOffset CreatedAt, DateTimeOffset ExpiresAt, DateTimeOffset? DecidedAt, string? DecidedBy)
    {
        public static ApprovalView From(ApprovalRequest r) => new(r.Id, r.Binding.Workload, r.Binding.Server, r.Binding.Tool, r.Binding.ArgumentsSha256,
            r.Policy, r.Rule, r.State, r.CreatedAt, r.ExpiresAt, r.DecidedAt, r.DecidedBy);
    }

    public sealed record ApprovalList(IReadOnlyList<ApprovalView> Approvals);

    public static void MapApprovalsApi(this RouteGroupBuilder v1)
    {
        v1.MapGet("/approvals", ListApprovals)
            .WithName(nameof(ListApprovals))
            .WithSummary("Approval requests, oldest first: pending ones, and decided ones until they are forgotten (?state=pending to filter)");
        v1.MapGet("/approvals/{id}", GetApproval)
            .WithName(nameof(GetApproval))
            .WithSummary("One approval request");
        v1.MapPost("/approvals/{id}:approve", ApproveCall)
            .WithName(nameof(ApproveCall))
            .WithSummary("Approve a pending request: the same call is forwarded once; 409 if it is not pending");
        v1.MapPost("/approvals/{id}:deny", DenyCall)
            .WithName(nameof(DenyCall))
            .WithSummary("Deny a pending request: the same call is refused (approval-denied) until the request expires; 409 if it is not pending");
    }

    private static async Task<Results<Ok<ApprovalList>, ValidationProblem>> ListApprovals(string? state, IGrainFactory grains)
    {
        ApprovalState? only = null;
        if (state is { Length: > 0 })
        {
            // One state by its name, any casing: never a number, a comma list (Enum.TryParse would OR it into another
            // state) or padded text.
            var name = Enum.GetNames<ApprovalState>().FirstOrDefault(n => string.Equals(n, state, StringComparison.OrdinalIgnoreCase));
            if (name is null)
            {
                return ApiBody.Field("state", "state is one of pending, approved, denied, consumed, expired, cancelled");
            }
            only = Enum.Parse<ApprovalState>(name);
        }
        var requests = await grains.Approvals().ListAsync();
        return TypedResults.Ok(new ApprovalList([.. requests.Where(r => only is null || r.State == only).Select(ApprovalView.From)]));
    }

    private static async Task<Results<Ok<ApprovalView>, NotFound>> GetApproval(string id, IGrainFactory grains) =>
        ApprovalIds.IsWellFormed(id) && await grains.Approvals().GetAsync(id) is { } request
            ? TypedResults.Ok(ApprovalView.From(request))
            : TypedResults.NotFound();

    private static Task<Results<Ok<ApprovalView>, NotFound, ProblemHttpResult>> ApproveCall(string id, HttpContext context, IGrainFactory grains) =>
        DecideAsync(id, approve: true, context, grains);

    private static Task<Results<Ok<ApprovalView>, NotFound, ProblemHttpResult>> DenyCall(string id, HttpContext context, IGrainFactory grains) =>
        DecideAsync(id, approve: false, context, grains);

    private static async Task<Results<Ok<ApprovalView>, NotFound, ProblemHttpResult>> DecideAsync(string id, bool approve, HttpContext context, IGrainFactory grains)
    {
        if (!ApprovalIds.IsWellFormed(id))
        {
            return TypedResults.NotFound();
        }
        var decided = await grains.Approvals().DecideAsync(id, approve, context.User.Identity?.Name ?? "admin");
        return decided.Outcome switch
        {
            ApprovalDecisionOutcome.Decided => TypedResults.Ok(ApprovalView.From(decided.Request!)),
            ApprovalDecisionOutcome.NotPending => TypedResults.Problem(
                detail: $"The request is {decided.Request!.State.ToString().ToLowerInvariant()}, not pending: only a pending request can be decided.",
                statusCode: StatusCodes.Status409Conflict, title: "Approval not pending",
                extensions: new Dictionary<string, object?> { ["reason"] = "approval-not-pending", ["state"] = decided.Request.State.ToString().ToLowerInvariant() }),
            _ => TypedResults.NotFound(),
        };
    }
}
