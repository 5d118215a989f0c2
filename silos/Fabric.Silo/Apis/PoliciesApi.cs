using Fabric.Contracts.Policy;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Fabric.Silo.Apis;

/// <summary><c>/v1/policies</c>: validated before acceptance; a rejected policy leaves the old one in force.</summary>
internal static class PoliciesApi
{
    public sealed record PutPolicyRequest(IReadOnlyList<string>? Subjects, IReadOnlyList<RuleRequest?>? Rules, PolicyAuth? Auth = null);

    /// <summary>
    /// A rule as PUT. A member the fabric does not know is refused, not ignored: a misspelt <c>annotations</c> or
    /// <c>when</c> dropped silently would leave a broader rule than the one written (an allow on the whole server).
    /// </summary>
    [System.Text.Json.Serialization.JsonUnmappedMemberHandling(System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow)]
    public sealed record RuleRequest(
        string? Server,
        PolicyEffect? Effect,
        IReadOnlyList<string>? Tools,
        IReadOnlyList<string>? Resources,
        IReadOnlyList<string>? Prompts,
        ConditionRequest? When,
        IReadOnlyList<string>? Methods = null,
        string? Egress = null,
        IReadOnlyList<string>? Paths = null,
        ToolAnnotations? Annotations = null,
        CallLimit? Limit = null);

    [System.Text.Json.Serialization.JsonUnmappedMemberHandling(System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow)]
    public sealed record ConditionRequest(IReadOnlyDictionary<string, string>? Arguments, ApprovalRequirement? Approval = null);

    public sealed record PolicyResponse(string Name, IReadOnlyList<string> Subjects, IReadOnlyList<RuleResponse> Rules, long Version, DateTimeOffset UpdatedAt, PolicyAuth Auth)
    {
        public static PolicyResponse From(VersionedPolicy p) =>
            new(p.Policy.Name, p.Policy.Subjects, [.. p.Policy.Rules.Select(RuleResponse.From)], p.Version, p.UpdatedAt, p.Policy.Auth);
    }

    /// <summary>A rule as the API shows it: the shape it was PUT in (an egress rule names <c>egress</c>, no <c>server</c>).</summary>
    public sealed record RuleResponse(
        string? Server, PolicyEffect Effect, IReadOnlyList<string>? Tools, IReadOnlyList<string>? Resources, IReadOnlyList<string>? Prompts,
        PolicyCondition? When, IReadOnlyList<string>? Methods, string? Egress, IReadOnlyList<string>? Paths, ToolAnnotations? Annotations,
        CallLimit? Limit)
    {
        public static RuleResponse From(PolicyRule r) =>
            new(r.IsEgress ? null : r.Server, r.Effect, r.Tools, r.Resources, r.Prompts, r.When, r.Methods, r.Egress, r.Paths, r.Annotations, r.Limit);
    }

    /// <summary><c>{ "policies": [...] }</c>.</summary>
    public sealed record PolicyList(IReadOnlyList<PolicyResponse> Policies);

    /// <summary>The catalog version a deletion produced: <c>{ "version": n }</c>.</summary>
    public sealed record PolicyDeleted(long Version);

    public static void MapPoliciesApi(this RouteGroupBuilder v1)
    {
        var policies = v1.MapGroup("/policies");

        policies.MapPut("/{name}", PutPolicy)
            .WithName(nameof(PutPolicy))
            .WithSummary("Create or replace a policy; a rejected policy leaves the old one in force");
        policies.MapGet("/", ListPolicies)
            .WithName(nameof(ListPolicies))
            .WithSummary("List the policies with their versions");
        policies.MapGet("/{name}", GetPolicy)
            .WithName(nameof(GetPolicy))
            .WithSummary("Get one policy");
        policies.MapDelete("/{name}", DeletePolicy)
            .WithName(nameof(DeletePolicy))
            .WithSummary("Delete a policy");
    }

    private static async Task<Results<Ok<PolicyResponse>, ValidationProblem, ProblemHttpResult>> PutPolicy(
        string name, HttpContext context, IGrainFactory grains)
    {
        var (body, invalid, tooLarge) = await ApiBody.ReadAsync<PutPolicyRequest>(context);
        if (tooLarge is not null)
        {
            return tooLarge;
        }
        if (invalid is not null)
        {
            return invalid;
        }
        var missing = MissingFields(body!);
        if (missing.Count > 0)
        {
            return TypedResults.ValidationProblem(missing);
        }
        var document = ToDocument(name, body!);
        var result = await grains.Catalog().PutAsync(document);
        if (result.Errors is { Count: > 0 } errors)
        {
            return TypedResults.ValidationProblem(errors);
        }
        // A narrowed grant ends the approval requests it no longer gates (issue 12 §5).
        await grains.Approvals().ReconcileAsync(null, null);
        var stored = await grains.Catalog().GetAsync(name);
        return TypedResults.Ok(PolicyResponse.From(stored!));
    }

    private static async Task<Ok<PolicyList>> ListPolicies(IGrainFactory grains) =>
        TypedResults.Ok(new PolicyList([.. (await grains.Catalog().ListAsync()).Select(PolicyResponse.From)]));

    private static async Task<Results<Ok<PolicyResponse>, NotFound>> GetPolicy(string name, IGrainFactory grains) =>
        await grains.Catalog().GetAsync(name) is { } policy ? TypedResults.Ok(PolicyResponse.From(policy)) : TypedResults.NotFound();

    private static async Task<Results<Ok<PolicyDeleted>, NotFound>> DeletePolicy(string name, IGrainFactory grains)
    {
        if (await grains.Catalog().DeleteAsync(name) is not { } version)
        {
            return TypedResults.NotFound();
        }
        // Approval requests the removed grants gated end now (issue 12 §5).
        await grains.Approvals().ReconcileAsync(null, null);
        return TypedResults.Ok(new PolicyDeleted(version));
    }

    /// <summary>Shape errors JSON binding cannot report (absent or null members), keyed like the validator's.</summary>
    private static Dictionary<string, string[]> MissingFields(PutPolicyRequest body)
    {
        var errors = new Dictionary<string, string[]>();
        if (body.Subjects is null)
        {
            errors["subjects"] = ["subjects is required"];
        }
        if (body.Rules is null)
        {
            errors["rules"] = ["rules is required"];
            return errors;
        }
        for (var i = 0; i < body.Rules.Count; i++)
        {
            var rule = body.Rules[i];
            if (rule is null)
            {
                errors[$"rules[{i}]"] = ["a rule object is required"];
                continue;
            }
            if (rule.Server is null && rule.Egress is null)
            {
                errors[$"rules[{i}].server"] = ["server is required (or, for an MCP server's outbound calls, egress)"];
            }
            if (rule.Effect is null)
            {
                errors[$"rules[{i}].effect"] = ["effect is required: 'allow' or 'deny'"];
            }
            if (rule.When is { Arguments: null, Approval: null })
            {
                errors[$"rules[{i}].when"] = ["when needs an arguments object, or approval: \"required\""];
            }
        }
        return errors;
    }

    internal static PolicyDocument ToDocument(string name, PutPolicyRequest body) => new(
        name,
        body.Subjects!,
        [.. body.Rules!.Select(r => new PolicyRule(
            r!.Server ?? "", r.Effect!.Value, r.Tools, r.Resources, r.Prompts,
            r.When is { } when ? new PolicyCondition(when.Arguments, when.Approval) : null, r.Methods, r.Egress, r.Paths, r.Annotations, r.Limit))],
        body.Auth ?? PolicyAuth.Any);
}
