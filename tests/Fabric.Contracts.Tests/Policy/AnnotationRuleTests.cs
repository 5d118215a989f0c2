using Fabric.Contracts.Policy;
using static Fabric.Contracts.Tests.Policy.PolicyRules;

namespace Fabric.Contracts.Tests.Policy;

/// <summary>
/// Issue 12 §2: rules on operator-attested tool annotations. What a server reports about its tools never reaches the
/// evaluator; <see cref="McpCall.Attested"/> is what the operator pinned in the lock, and an unattested tool matches
/// no rule on annotations, whichever way the rule is written.
/// </summary>
public class AnnotationRuleTests
{
    private static readonly ToolAnnotations Destructive = new(DestructiveHint: true);
    private static readonly ToolAnnotations ReadOnly = new(ReadOnlyHint: true, DestructiveHint: false);

    private static McpCall Attested(string tool, ToolAnnotations? attested) => ToolCall(tool) with { Attested = attested };

    public static TheoryData<ToolAnnotations, ToolAnnotations?, bool> MatchRows => new()
    {
        { Destructive, Destructive, true },
        { Destructive, new ToolAnnotations(DestructiveHint: true, OpenWorldHint: false), true }, // more attested than asked
        { Destructive, new ToolAnnotations(DestructiveHint: false), false },
        { Destructive, new ToolAnnotations(ReadOnlyHint: false), false },   // the hint the rule asks about is not attested
        { Destructive, null, false },                                       // unattested
        { new ToolAnnotations(DestructiveHint: false), null, false },       // a rule on "false" does not match "nobody said"
        { new ToolAnnotations(DestructiveHint: false), new ToolAnnotations(), false },
        { ReadOnly, new ToolAnnotations(ReadOnlyHint: true), false },       // both hints asked, one attested
        { ReadOnly, ReadOnly, true },
        { new ToolAnnotations(IdempotentHint: true, OpenWorldHint: true), new ToolAnnotations(true, false, true, true), true },
    };

    [Theory]
    [MemberData(nameof(MatchRows))]
    public void A_pattern_matches_only_what_was_attested(ToolAnnotations pattern, ToolAnnotations? attested, bool matches) =>
        Assert.Equal(matches, pattern.Matches(attested));

    [Fact]
    public void An_allow_on_attested_read_only_tools_allows_those_and_nothing_unattested()
    {
        var grant = Grant(Allow() with { Annotations = new ToolAnnotations(ReadOnlyHint: true) });
        Assert.True(PolicyEvaluator.Decide(grant, Attested("read", ReadOnly)).Allowed);
        Assert.Equal(ReasonCodes.NoMatchingAllow, PolicyEvaluator.Decide(grant, Attested("delete", null)).Reason);
        Assert.Equal(ReasonCodes.NoMatchingAllow, PolicyEvaluator.Decide(grant, Attested("delete", Destructive)).Reason);
        Assert.True(PolicyEvaluator.IsVisible(grant, McpCallKind.Tool, "read", ReadOnly));
        Assert.False(PolicyEvaluator.IsVisible(grant, McpCallKind.Tool, "delete", null));
    }

    [Fact]
    public void A_rule_on_annotations_covers_tools_only_and_never_the_whole_server()
    {
        var grant = Grant(Allow(tools: ["read"]), Deny() with { Annotations = Destructive });
        // A whole-server deny would close the handshake and every resource; a deny on annotations closes nothing else.
        Assert.True(PolicyEvaluator.Decide(grant, Call("initialize")).Allowed);
        Assert.False(PolicyEvaluator.IsWholeServer(grant.Rules[1].Rule));
        Assert.False(PolicyEvaluator.AppliesTo(grant.Rules[1].Rule, McpCallKind.Resource, "file:///x", Destructive));
        Assert.False(PolicyEvaluator.AppliesTo(grant.Rules[1].Rule, McpCallKind.Prompt, "p", Destructive));
        Assert.True(PolicyEvaluator.Decide(grant, Attested("read", null)).Allowed);
    }

    [Fact]
    public void A_deny_on_attested_destructive_tools_wins_over_an_allow_and_hides_them()
    {
        var grant = Grant(Allow(), Deny() with { Annotations = Destructive });
        Assert.Equal(Decision.Deny(ReasonCodes.ExplicitDeny, GrantVersion, "p", 1), PolicyEvaluator.Decide(grant, Attested("drop_table", Destructive)));
        Assert.False(PolicyEvaluator.IsVisible(grant, McpCallKind.Tool, "drop_table", Destructive));
        // The server may call its tool read-only all it likes: unattested, it is just a tool the allow covers.
        Assert.True(PolicyEvaluator.Decide(grant, Attested("drop_table", null)).Allowed);
    }

    [Fact]
    public void Tool_globs_narrow_a_rule_on_annotations_further()
    {
        var grant = Grant(Allow(tools: ["db_*"]) with { Annotations = ReadOnly });
        Assert.True(PolicyEvaluator.Decide(grant, Attested("db_query", ReadOnly)).Allowed);
        Assert.False(PolicyEvaluator.Decide(grant, Attested("fs_read", ReadOnly)).Allowed);
    }

    [Fact]
    public void The_grant_says_whether_it_needs_attestations() =>
        Assert.Equal((false, true), (Grant(Allow()).MatchesAnnotations, Grant(Allow(), Deny() with { Annotations = Destructive }).MatchesAnnotations));

    public static TheoryData<PolicyRule, string> InvalidRows => new()
    {
        { Allow() with { Annotations = new ToolAnnotations() }, "rules[0].annotations" },
        { Allow(resources: ["file:///*"]) with { Annotations = Destructive }, "rules[0].resources" },
        { Allow(prompts: ["p"]) with { Annotations = Destructive }, "rules[0].prompts" },
        { Allow() with { Methods = ["x/custom"], Annotations = Destructive }, "rules[0].methods" },
        { new PolicyRule("", PolicyEffect.Allow, Egress: "github", Annotations: Destructive), "rules[0].annotations" },
    };

    [Theory]
    [MemberData(nameof(InvalidRows))]
    public void The_validator_names_a_rule_on_annotations_that_cannot_work(PolicyRule rule, string field) =>
        Assert.Contains(field, PolicyValidator.Validate(new PolicyDocument("p", ["spiffe://td/a"], [rule])).Keys);

    [Fact]
    public void A_rule_on_annotations_may_constrain_arguments() =>
        Assert.Empty(PolicyValidator.Validate(new PolicyDocument("p", ["spiffe://td/a"],
            [Allow(when: new() { ["path"] = "/tmp/*" }) with { Annotations = ReadOnly }])));
}
