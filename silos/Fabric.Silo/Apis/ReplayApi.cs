using System.Collections.Frozen;
using Fabric.Contracts.Audit;
using Fabric.Contracts.Grains;
using Fabric.Contracts.Identity;
using Fabric.Contracts.Policy;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Fabric.Silo.Apis;

/// <summary>
/// <c>POST /v1/policies:replay</c> (issue 13 §2): the review step of a policy change. The last N audited MCP calls are
/// decided again under the policy set as it would be with the candidate policies put (and the named ones removed),
/// and every call whose decision would flip (allowed ↔ denied) is listed. Nothing is changed. Audit records do not
/// keep arguments, so a call whose new decision could depend on <c>when.arguments</c> is flagged, not guessed.
/// </summary>
internal static class ReplayApi
{
    public sealed record ReplayRequest(IReadOnlyList<CandidatePolicy?>? Policies, IReadOnlyList<string>? Remove = null, int? Limit = null);

    [System.Text.Json.Serialization.JsonUnmappedMemberHandling(System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow)]
    public sealed record CandidatePolicy(string? Name, IReadOnlyList<string>? Subjects, IReadOnlyList<PoliciesApi.RuleRequest?>? Rules, PolicyAuth? Auth = null);

    public sealed record Flip(Guid RecordId, DateTimeOffset Time, string Workload, string Server, string Method, string? Name,
        string Was, string WasReason, string Now, string NowReason, string? NowPolicy, int? NowRule, bool DependsOnArguments);

    public sealed record ReplayResult(int Replayed, int Skipped, IReadOnlyList<Flip> Flips);

    public const int MaxLimit = 10_000;
    public const int DefaultLimit = 1000;

    /// <summary>Reasons the policy itself gave; any other reason on a record means the policy had allowed it.</summary>
    private static readonly FrozenSet<string> PolicyDenials = FrozenSet.Create(StringComparer.Ordinal,
        ReasonCodes.NoMatchingAllow, ReasonCodes.ExplicitDeny, ReasonCodes.ArgumentConstraint, ReasonCodes.UnknownMethod,
        ReasonCodes.ApprovalRequired, ReasonCodes.ApprovalDenied);

    /// <summary>Records decided before (or without) the policy: nothing a policy change would flip.</summary>
    private static readonly FrozenSet<string> NotPolicyDecisions = FrozenSet.Create(StringComparer.Ordinal,
        ReasonCodes.WorkloadDisabled, ReasonCodes.ReservedIdentity, ReasonCodes.InvalidJwtSvid, ReasonCodes.UnknownServer,
        ReasonCodes.MethodNotAllowed, ReasonCodes.UnsupportedMediaType, ReasonCodes.MessageTooLarge, ReasonCodes.InvalidMessage,
        ReasonCodes.HeaderMismatch, ReasonCodes.UnknownSession, ReasonCodes.SessionBindingMismatch, ReasonCodes.TaskBindingMismatch,
        ReasonCodes.PolicyUnavailable);

    public static void MapReplayApi(this RouteGroupBuilder v1) =>
        v1.MapPost("/policies:replay", ReplayPolicies)
            .WithName(nameof(ReplayPolicies))
            .WithSummary("Decide the last N audited calls again under candidate policies; list every call that would flip. Changes nothing");

    private static async Task<Results<Ok<ReplayResult>, ValidationProblem, ProblemHttpResult>> ReplayPolicies(HttpContext context, IGrainFactory grains)
    {
        var (body, invalid, tooLarge) = await ApiBody.ReadAsync<ReplayRequest>(context);
        if (tooLarge is not null)
        {
            return tooLarge;
        }
        if (invalid is not null)
        {
            return invalid;
        }
        var limit = body!.Limit ?? DefaultLimit;
        if (limit is < 1 or > MaxLimit)
        {
            return ApiBody.Field("limit", $"limit is from 1 to {MaxLimit}");
        }
        var candidates = new List<PolicyDocument>();
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        foreach (var (candidate, i) in (body.Policies ?? []).Select((c, i) => (c, i)))
        {
            if (candidate is not { Name: { Length: > 0 } name, Subjects: not null, Rules: not null } || candidate.Rules.Any(r => r is null || r.Effect is null))
            {
                errors[$"policies[{i}]"] = ["each candidate policy has a name, subjects and rules (each with an effect)"];
                continue;
            }
            var document = PoliciesApi.ToDocument(name, new PoliciesApi.PutPolicyRequest(candidate.Subjects, candidate.Rules, candidate.Auth));
            foreach (var (field, messages) in PolicyValidator.Validate(document))
            {
                errors[$"policies[{i}].{field}"] = messages;
            }
            candidates.Add(document);
        }
        if (candidates.GroupBy(c => c.Name, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1) is { } duplicate)
        {
            errors["policies"] = [$"policy '{duplicate.Key}' appears more than once"];
        }
        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }

        var removed = (body.Remove ?? []).ToHashSet(StringComparer.Ordinal);
        var replaced = candidates.Select(c => c.Name).ToHashSet(StringComparer.Ordinal);
        var current = await grains.Catalog().ListAsync();
        var version = current.Count == 0 ? 0 : current.Max(p => p.Version);
        var catalog = new PolicyCatalog(version + 1,
            current.Select(p => p.Policy).Where(p => !removed.Contains(p.Name) && !replaced.Contains(p.Name)).Concat(candidates));

        // MCP calls only: egress calls, tool drift and approval events are not replayed.
        var records = await AuditReading.LatestAsync(grains, limit, r => r.Kind is null);
        var enabled = new Dictionary<string, bool>(StringComparer.Ordinal);
        var flips = new List<Flip>();
        var skipped = 0;
        foreach (var record in records)
        {
            if (NotPolicyDecisions.Contains(record.Reason) || !SpiffeId.TryParse(record.Workload, out var workload) || workload is null)
            {
                skipped++;
                continue;
            }
            if (!enabled.TryGetValue(record.Workload, out var on))
            {
                enabled[record.Workload] = on = (await grains.Workload(record.Workload).GetAsync()).Enabled;
            }
            var grant = catalog.GrantFor(workload, record.Server, on);
            if (record.Auth == "jwt-svid")
            {
                grant = grant.ForBearer();
            }
            var decision = PolicyEvaluator.Decide(grant, new McpCall(record.Method, record.Name));
            var was = !PolicyDenials.Contains(record.Reason);
            var dependsOnArguments = DependsOnArguments(grant, record);
            if (decision.Allowed == was)
            {
                continue;
            }
            flips.Add(new Flip(record.Id, record.Time, record.Workload, record.Server, record.Method, record.Name,
                was ? "allow" : "deny", record.Reason, decision.Allowed ? "allow" : "deny", decision.Reason, decision.Policy, decision.Rule, dependsOnArguments));
        }
        return TypedResults.Ok(new ReplayResult(records.Count - skipped, skipped, flips));
    }

    /// <summary>True when a rule that applies to the call constrains arguments: the record cannot say whether it holds.</summary>
    private static bool DependsOnArguments(WorkloadGrant grant, AuditRecord record)
    {
        if (record.Name is not { } name)
        {
            return false;
        }
        var kind = McpMethods.Classify(record.Method);
        return grant.Rules.Any(r => r.Rule.When?.Arguments is not null && PolicyEvaluator.AppliesTo(r.Rule, kind, name));
    }
}
