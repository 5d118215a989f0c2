using System.Text.RegularExpressions;
using CsCheck;
using Fabric.Contracts.Policy;

namespace Fabric.Contracts.Tests.Policy;

/// <summary>
/// Decide against a straightforward model written from the issue text with LINQ and regex globs,
/// over random small grants and calls. Names and globs come from a tiny alphabet so that rules and
/// calls collide often enough to exercise every branch.
/// </summary>
public class PolicyEvaluatorPropertyTests
{
    private static readonly Gen<string> GlobGen = Gen.OneOf(
        Gen.Const("*"), Gen.Const("a"), Gen.Const("b"), Gen.Const("a*"), Gen.Const("?"), Gen.Const("?b"));

    private static readonly Gen<IReadOnlyList<string>?> GlobListGen =
        GlobGen.Array[1, 2].Select(a => (IReadOnlyList<string>)a).Null(0.6);

    private static readonly Gen<PolicyCondition?> WhenGen =
        Gen.Select(Gen.OneOf(Gen.Const("x"), Gen.Const("y")), GlobGen)
            .Select(c => new PolicyCondition(new Dictionary<string, string> { [c.Item1] = c.Item2 }))
            .Null(0.6);

    private static readonly Gen<IReadOnlyList<string>?> MethodListGen =
        Gen.OneOf(Gen.Const("x/a"), Gen.Const("x/b")).Array[1, 2].Select(a => (IReadOnlyList<string>)a).Null(0.8);

    private static readonly Gen<bool?> HintGen = Gen.Int[0, 2].Select(i => i switch { 0 => (bool?)true, 1 => false, _ => null });

    /// <summary>Two of the four hints are enough to make patterns and attestations collide and miss.</summary>
    private static readonly Gen<ToolAnnotations?> AnnotationsGen =
        Gen.Select(HintGen, HintGen, Gen.Int[0, 3], (destructive, readOnly, none) =>
            none == 0 ? null : new ToolAnnotations(ReadOnlyHint: readOnly, DestructiveHint: destructive));

    private static readonly Gen<PolicyRule> RuleGen = Gen.Select(
        Gen.Enum<PolicyEffect>(), GlobListGen, GlobListGen, GlobListGen, WhenGen, MethodListGen, Gen.Select(AnnotationsGen, Gen.Int[0, 2], (a, keep) => keep == 0 ? a : null),
        (effect, tools, resources, prompts, when, methods, annotations) =>
            new PolicyRule("s", effect, tools, resources, prompts, when, methods, Annotations: annotations));

    private static readonly Gen<WorkloadGrant> GrantGen = Gen.Select(
        Gen.Long[0, 100], Gen.Frequency((9, Gen.Const(true)), (1, Gen.Const(false))), RuleGen.Array[0, 5],
        (version, enabled, rules) => new WorkloadGrant(
            version, enabled, [.. rules.Select((r, i) => new GrantedRule(i % 2 == 0 ? "p1" : "p2", i, r))]));

    private static readonly Gen<McpCall> CallGen = Gen.Select(
        Gen.OneOf(
            Gen.Const("tools/call"), Gen.Const("resources/read"), Gen.Const("resources/subscribe"),
            Gen.Const("prompts/get"), Gen.Const("initialize"), Gen.Const("ping"), Gen.Const("tools/list"),
            Gen.Const("notifications/initialized"), Gen.Const("x/a"), Gen.Const("x/b"), Gen.Const("Tools/Call")),
        Gen.OneOf(Gen.Const("a"), Gen.Const("b"), Gen.Const("ab"), Gen.Const("bb"), Gen.Const("")).Null(0.1),
        Gen.Select(Gen.OneOf(Gen.Const("a"), Gen.Const("b"), Gen.Const("ab")).Null(0.4), Gen.OneOf(Gen.Const("a"), Gen.Const("bb")).Null(0.4)),
        AnnotationsGen,
        (method, name, args, attested) =>
        {
            var arguments = new Dictionary<string, string>();
            if (args.Item1 is { } x)
            {
                arguments["x"] = x;
            }
            if (args.Item2 is { } y)
            {
                arguments["y"] = y;
            }
            return new McpCall(method, name, arguments, attested);
        });

    [Fact]
    public void Decide_agrees_with_the_model() =>
        Gen.Select(GrantGen, CallGen).Sample(
            (grant, call) => PolicyEvaluator.Decide(grant, call) == Model(grant, call),
            iter: 50_000,
            print: t => $"{Describe(t.Item1)} | {t.Item2}");

    [Fact]
    public void IsVisible_agrees_with_the_model() =>
        Gen.Select(GrantGen, Gen.OneOf(Gen.Const(McpCallKind.Tool), Gen.Const(McpCallKind.Resource), Gen.Const(McpCallKind.Prompt)),
                Gen.OneOf(Gen.Const("a"), Gen.Const("b"), Gen.Const("ab")), AnnotationsGen)
            .Sample((grant, kind, name, attested) => PolicyEvaluator.IsVisible(grant, kind, name, attested) == VisibleModel(grant, kind, name, attested), iter: 20_000);

    [Fact]
    public void A_visible_name_is_never_explicitly_denied_without_arguments_and_an_allowed_call_is_visible() =>
        Gen.Select(GrantGen, CallGen).Sample((grant, call) =>
        {
            var kind = McpMethods.Classify(call.Method);
            if (kind is McpCallKind.Protocol or McpCallKind.Extension || call.Name is null)
            {
                return true;
            }
            var decision = PolicyEvaluator.Decide(grant, call);
            return !decision.Allowed || PolicyEvaluator.IsVisible(grant, kind, call.Name, call.Attested);
        }, iter: 20_000);

    private static Decision Model(WorkloadGrant grant, McpCall call)
    {
        if (!grant.Enabled)
        {
            return new Decision(false, ReasonCodes.WorkloadDisabled, null, null, grant.Version);
        }
        var kind = call.Method switch
        {
            "tools/call" => "tools",
            "resources/read" or "resources/subscribe" or "resources/unsubscribe" => "resources",
            "prompts/get" => "prompts",
            "initialize" or "ping" or "tools/list" or "notifications/initialized" => null,
            _ => "extension",
        };
        var rules = grant.Rules;
        if (kind == "extension")
        {
            // Any deny wins: the first, in grant order, of the unconditional whole-server denies and the denies naming it.
            var methodDeny = rules.FirstOrDefault(r => r.Rule.Effect == PolicyEffect.Deny
                && ((r.Rule.When is null && ListsNothing(r.Rule)) || r.Rule.Methods?.Contains(call.Method) == true));
            if (methodDeny is not null)
            {
                return new Decision(false, ReasonCodes.ExplicitDeny, methodDeny.Policy, methodDeny.Index, grant.Version);
            }
            var naming = rules.Where(r => r.Rule.Methods?.Contains(call.Method) == true).ToList();
            var allowing = naming.FirstOrDefault(r => r.Rule.Effect == PolicyEffect.Allow);
            return allowing is null
                ? new Decision(false, ReasonCodes.UnknownMethod, null, null, grant.Version)
                : new Decision(true, ReasonCodes.Allowed, allowing.Policy, allowing.Index, grant.Version);
        }
        if (kind is null)
        {
            var wholeDeny = rules.FirstOrDefault(r => r.Rule.Effect == PolicyEffect.Deny && r.Rule.When is null && ListsNothing(r.Rule));
            if (wholeDeny is not null)
            {
                return new Decision(false, ReasonCodes.ExplicitDeny, wholeDeny.Policy, wholeDeny.Index, grant.Version);
            }
            var anyAllow = rules.FirstOrDefault(r => r.Rule.Effect == PolicyEffect.Allow);
            return anyAllow is null
                ? new Decision(false, ReasonCodes.NoMatchingAllow, null, null, grant.Version)
                : new Decision(true, ReasonCodes.Allowed, anyAllow.Policy, anyAllow.Index, grant.Version);
        }
        if (call.Name is null)
        {
            return new Decision(false, ReasonCodes.NoMatchingAllow, null, null, grant.Version);
        }
        var applying = rules.Where(r => Applies(r.Rule, kind, call.Name, call.Attested)).ToList();
        var deny = applying.FirstOrDefault(r => r.Rule.Effect == PolicyEffect.Deny && ConditionHolds(r.Rule, call));
        if (deny is not null)
        {
            return new Decision(false, ReasonCodes.ExplicitDeny, deny.Policy, deny.Index, grant.Version);
        }
        var allow = applying.FirstOrDefault(r => r.Rule.Effect == PolicyEffect.Allow && ConditionHolds(r.Rule, call));
        if (allow is not null)
        {
            return new Decision(true, ReasonCodes.Allowed, allow.Policy, allow.Index, grant.Version);
        }
        var failed = applying.FirstOrDefault(r => r.Rule.Effect == PolicyEffect.Allow);
        return failed is null
            ? new Decision(false, ReasonCodes.NoMatchingAllow, null, null, grant.Version)
            : new Decision(false, ReasonCodes.ArgumentConstraint, failed.Policy, failed.Index, grant.Version);
    }

    private static bool VisibleModel(WorkloadGrant grant, McpCallKind kind, string name, ToolAnnotations? attested)
    {
        var kindName = kind.ToString().ToLowerInvariant() + "s";
        var applying = grant.Rules.Where(r => Applies(r.Rule, kindName, name, attested)).ToList();
        return grant.Enabled
            && applying.Any(r => r.Rule.Effect == PolicyEffect.Allow)
            && !applying.Any(r => r.Rule.Effect == PolicyEffect.Deny && r.Rule.When is null);
    }

    private static bool ListsNothing(PolicyRule rule) =>
        rule.Tools is null && rule.Resources is null && rule.Prompts is null && rule.Methods is null && rule.Annotations is null;

    /// <summary>
    /// Issue 12 §2: a rule on annotations covers tools only — those its tool globs name, or all — and of those only the
    /// ones attested with every hint the rule sets, to the same value; resources, prompts and methods it lists are moot.
    /// </summary>
    private static bool Applies(PolicyRule rule, string kind, string name, ToolAnnotations? attested)
    {
        if (rule.Annotations is { } wanted)
        {
            var hints = new[] { (wanted.ReadOnlyHint, attested?.ReadOnlyHint), (wanted.DestructiveHint, attested?.DestructiveHint),
                (wanted.IdempotentHint, attested?.IdempotentHint), (wanted.OpenWorldHint, attested?.OpenWorldHint) };
            return kind == "tools" && attested is not null && hints.All(h => h.Item1 is null || h.Item1 == h.Item2)
                && (rule.Tools is null || rule.Tools.Any(g => RegexGlob(g, name)));
        }
        if (ListsNothing(rule))
        {
            return true;
        }
        var globs = kind switch { "tools" => rule.Tools, "resources" => rule.Resources, _ => rule.Prompts };
        return globs is not null && globs.Any(g => RegexGlob(g, name));
    }

    private static bool ConditionHolds(PolicyRule rule, McpCall call) =>
        rule.When?.Arguments is null || rule.When.Arguments.All(c =>
            call.Arguments is not null && call.Arguments.TryGetValue(c.Key, out var v) && RegexGlob(c.Value, v));

    private static bool RegexGlob(string glob, string text) =>
        Regex.IsMatch(text, "^" + Regex.Escape(glob).Replace(@"\*", ".*", StringComparison.Ordinal).Replace(@"\?", ".", StringComparison.Ordinal) + @"\z", RegexOptions.Singleline);

    private static string Describe(WorkloadGrant grant) =>
        $"v{grant.Version} enabled={grant.Enabled} [" + string.Join("; ", grant.Rules.Select(r =>
            $"{r.Policy}#{r.Index} {r.Rule.Effect} tools={List(r.Rule.Tools)} resources={List(r.Rule.Resources)} prompts={List(r.Rule.Prompts)} methods={List(r.Rule.Methods)}"
            + (r.Rule.Annotations is null ? "" : " annotations=" + r.Rule.Annotations)
            + (r.Rule.When?.Arguments is null ? "" : " when=" + string.Join(",", r.Rule.When.Arguments.Select(a => $"{a.Key}:{a.Value}"))))) + "]";

    private static string List(IReadOnlyList<string>? list) => list is null ? "-" : "[" + string.Join(",", list) + "]";
}
