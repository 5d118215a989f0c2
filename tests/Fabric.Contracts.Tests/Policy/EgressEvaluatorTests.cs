using System.Text.RegularExpressions;
using CsCheck;
using Fabric.Contracts.Identity;
using Fabric.Contracts.Policy;

namespace Fabric.Contracts.Tests.Policy;

/// <summary>Issue 11 §1: the egress evaluator as a table, its path canonicalizer, and a property test against a model.</summary>
public class EgressEvaluatorTests
{
    private static PolicyRule Egress(PolicyEffect effect, string target = "github", string[]? methods = null, string[]? paths = null) =>
        new("", effect, Methods: methods, Egress: target, Paths: paths);

    private static WorkloadGrant Grant(params PolicyRule[] rules) =>
        new(7, Enabled: true, [.. rules.Select((r, i) => new GrantedRule("p", i, r))]);

    public static TheoryData<PolicyRule[], string, string, string, string> Table => new()
    {
        // rules, target, method, path → reason
        { [], "github", "GET", "/repos/acme-corp/x", ReasonCodes.EgressNotAllowed },                                            // default deny
        { [Egress(PolicyEffect.Allow)], "github", "GET", "/anything", ReasonCodes.Allowed },                                     // whole target
        { [Egress(PolicyEffect.Allow, paths: ["/repos/acme-corp/*"])], "github", "GET", "/repos/acme-corp/x/y", ReasonCodes.Allowed },
        { [Egress(PolicyEffect.Allow, paths: ["/repos/acme-corp/*"])], "github", "GET", "/repos/acme-corp", ReasonCodes.EgressNotAllowed },
        { [Egress(PolicyEffect.Allow, paths: ["/repos/acme-corp/*"])], "github", "GET", "/repos/other/x", ReasonCodes.EgressNotAllowed },
        { [Egress(PolicyEffect.Allow, methods: ["GET"])], "github", "POST", "/x", ReasonCodes.EgressNotAllowed },
        { [Egress(PolicyEffect.Allow, methods: ["GET"])], "github", "get", "/x", ReasonCodes.EgressNotAllowed },                // methods are case-sensitive
        { [Egress(PolicyEffect.Allow, methods: ["GET", "POST"])], "github", "POST", "/x", ReasonCodes.Allowed },
        { [Egress(PolicyEffect.Allow, "git*")], "github", "GET", "/x", ReasonCodes.Allowed },                                    // target glob
        { [Egress(PolicyEffect.Allow, "slack")], "github", "GET", "/x", ReasonCodes.EgressNotAllowed },
        { [Egress(PolicyEffect.Allow), Egress(PolicyEffect.Deny, paths: ["/admin*"])], "github", "GET", "/admin/x", ReasonCodes.ExplicitDeny }, // deny wins
        { [Egress(PolicyEffect.Deny, paths: ["/admin*"]), Egress(PolicyEffect.Allow)], "github", "GET", "/repos", ReasonCodes.Allowed },
        { [Egress(PolicyEffect.Deny, methods: ["DELETE"]), Egress(PolicyEffect.Allow)], "github", "DELETE", "/repos/x", ReasonCodes.ExplicitDeny },
        // An MCP rule never decides an outbound call.
        { [new PolicyRule("github", PolicyEffect.Allow)], "github", "GET", "/x", ReasonCodes.EgressNotAllowed },
    };

    [Theory]
    [MemberData(nameof(Table))]
    public void Decides(PolicyRule[] rules, string target, string method, string path, string reason) =>
        Assert.Equal(reason, EgressEvaluator.Decide(Grant(rules), new EgressCall(target, method, path)).Reason);

    [Fact]
    public void A_disabled_identity_is_denied_and_a_decision_names_the_rule_that_made_it()
    {
        Assert.Equal(ReasonCodes.WorkloadDisabled, EgressEvaluator.Decide(Grant(Egress(PolicyEffect.Allow)) with { Enabled = false }, new EgressCall("github", "GET", "/")).Reason);
        var decision = EgressEvaluator.Decide(Grant(Egress(PolicyEffect.Allow, "slack"), Egress(PolicyEffect.Allow)), new EgressCall("github", "GET", "/"));
        Assert.Equal(("p", 1, 7L), (decision.Policy, decision.Rule!.Value, decision.Version));
    }

    [Theory]
    [InlineData("/repos/acme-corp/widgets", null)]
    [InlineData("/", null)]
    [InlineData("/repos/", null)]
    [InlineData("/search/caf%C3%A9", null)]
    [InlineData("/a%20b", null)]
    [InlineData("repos", "must start with '/'")]
    [InlineData("", "must start with '/'")]
    [InlineData("/repos//x", "empty segment")]
    [InlineData("/repos/./x", "'.' or '..' segment")]
    [InlineData("/repos/../x", "'.' or '..' segment")]
    [InlineData("/repos/..", "'.' or '..' segment")]
    [InlineData("/repos/%2E%2E/x", "must be sent as is")]
    [InlineData("/repos/%2e%2e/x", "upper-case hex")]
    [InlineData("/repos/a%2Fb", "must be sent as is")]
    [InlineData("/repos/a%5Cb", "must be sent as is")]
    [InlineData("/repos/acme%2Dcorp", "must be sent as is")]
    [InlineData("/repos/%00", "must be sent as is")]
    [InlineData("/repos/%4", "upper-case hex")]
    [InlineData("/repos/%G1", "upper-case hex")]
    [InlineData("/repos/a\\b", "raw")]
    [InlineData("/repos/a b", "raw")]
    [InlineData("/repos/é", "raw")]
    [InlineData("/repos/a#b", "raw")]
    public void Canonicalizes_paths_or_says_why_not(string path, string? error)
    {
        var canonical = EgressPaths.Canonicalize(path, out var why);
        if (error is null)
        {
            Assert.Equal(path, canonical);
            Assert.Null(why);
        }
        else
        {
            Assert.Null(canonical);
            Assert.Contains(error, why, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void The_catalog_hands_egress_rules_only_to_egress_and_server_rules_only_to_servers()
    {
        var server = SpiffeId.Parse("spiffe://td/servers/github-mcp");
        var catalog = new PolicyCatalog(3, [new PolicyDocument("p", ["spiffe://td/servers/*"],
            [new PolicyRule("*", PolicyEffect.Allow), Egress(PolicyEffect.Allow, "git*"), Egress(PolicyEffect.Deny, "slack")])]);

        Assert.Equal([0], catalog.RulesFor(server, "github").Select(r => r.Index));
        Assert.Equal([1], catalog.EgressRulesFor(server, "github").Select(r => r.Index));
        Assert.Equal([2], catalog.EgressRulesFor(server, "slack").Select(r => r.Index));
        Assert.Empty(catalog.EgressRulesFor(SpiffeId.Parse("spiffe://td/agents/a"), "github"));
    }

    // ---- Property: Decide against an independent model (LINQ + regex globs) over random small rule sets ----

    private static readonly Gen<string> GlobGen = Gen.OneOf(Gen.Const("*"), Gen.Const("/a*"), Gen.Const("/a/?"), Gen.Const("/b"), Gen.Const("*b"));
    private static readonly Gen<string> TargetGlobGen = Gen.OneOf(Gen.Const("*"), Gen.Const("gh"), Gen.Const("g?"), Gen.Const("sl*"));

    private static readonly Gen<PolicyRule> RuleGen = Gen.Select(
        Gen.Enum<PolicyEffect>(), TargetGlobGen,
        Gen.OneOf(Gen.Const("GET"), Gen.Const("POST"), Gen.Const("DELETE")).Array[1, 2].Null(0.5),
        GlobGen.Array[1, 2].Null(0.5),
        (effect, target, methods, paths) => Egress(effect, target, methods, paths));

    private static readonly Gen<EgressCall> CallGen = Gen.Select(
        Gen.OneOf(Gen.Const("gh"), Gen.Const("sl"), Gen.Const("gx")),
        Gen.OneOf(Gen.Const("GET"), Gen.Const("POST"), Gen.Const("DELETE"), Gen.Const("get")),
        Gen.OneOf(Gen.Const("/a"), Gen.Const("/a/b"), Gen.Const("/ab"), Gen.Const("/b"), Gen.Const("/")),
        (target, method, path) => new EgressCall(target, method, path));

    [Fact]
    public void Decide_agrees_with_a_model_of_the_rules() =>
        Gen.Select(RuleGen.Array[0, 5], Gen.Bool, CallGen).Sample((rules, enabled, call) =>
        {
            var grant = Grant(rules) with { Enabled = enabled };
            var actual = EgressEvaluator.Decide(grant, call);
            return (actual.Reason, actual.Rule) == Model(rules, enabled, call);
        }, iter: 20_000);

    private static (string Reason, int? Rule) Model(PolicyRule[] rules, bool enabled, EgressCall call)
    {
        if (!enabled)
        {
            return (ReasonCodes.WorkloadDisabled, null);
        }
        static bool Like(string glob, string text) => Regex.IsMatch(text, "^" + Regex.Escape(glob).Replace("\\*", ".*").Replace("\\?", ".") + "$");
        var applying = rules.Select((rule, index) => (rule, index))
            .Where(x => Like(x.rule.Egress!, call.Target)
                && (x.rule.Methods is null || x.rule.Methods.Contains(call.Method))
                && (x.rule.Paths is null || x.rule.Paths.Any(p => Like(p, call.Path))))
            .ToList();
        if (applying.FirstOrDefault(x => x.rule.Effect == PolicyEffect.Deny) is { rule: not null } deny)
        {
            return (ReasonCodes.ExplicitDeny, deny.index);
        }
        return applying.FirstOrDefault(x => x.rule.Effect == PolicyEffect.Allow) is { rule: not null } allow
            ? (ReasonCodes.Allowed, allow.index)
            : (ReasonCodes.EgressNotAllowed, null);
    }
}
