using Fabric.Contracts.Policy;
using static Fabric.Contracts.Tests.Policy.PolicyRules;

namespace Fabric.Contracts.Tests.Policy;

/// <summary>Issue 12 §3: <c>when.approval</c> on allow rules, as the evaluator and the validator see it.</summary>
public class ApprovalRuleTests
{
    private static PolicyRule Gated(string[] tools, Dictionary<string, string>? arguments = null) =>
        Allow(tools: tools) with { When = new PolicyCondition(arguments, ApprovalRequirement.Required) };

    [Fact]
    public void Any_applying_allow_that_asks_for_approval_gates_the_call_even_beside_a_broader_allow()
    {
        var grant = Grant(Allow(), Gated(["deploy"]));
        var decision = PolicyEvaluator.Decide(grant, ToolCall("deploy"));
        Assert.False(decision.Allowed);
        Assert.Equal(ReasonCodes.ApprovalRequired, decision.Reason);
        Assert.Equal(1, decision.Rule);
        Assert.True(PolicyEvaluator.Decide(grant, ToolCall("status")).Allowed);
        // Listed: the tool can be called, with approval.
        Assert.True(PolicyEvaluator.IsVisible(grant, McpCallKind.Tool, "deploy"));
    }

    [Fact]
    public void A_deny_still_wins_and_an_approval_rule_whose_arguments_fail_does_not_apply()
    {
        Assert.Equal(ReasonCodes.ExplicitDeny, PolicyEvaluator.Decide(Grant(Gated(["deploy"]), Deny(tools: ["deploy"])), ToolCall("deploy")).Reason);
        var grant = Grant(Gated(["deploy"], new() { ["env"] = "prod" }), Allow(tools: ["deploy"]));
        Assert.Equal(ReasonCodes.ApprovalRequired, PolicyEvaluator.Decide(grant, ToolCall("deploy", ("env", "prod"))).Reason);
        Assert.True(PolicyEvaluator.Decide(grant, ToolCall("deploy", ("env", "dev"))).Allowed);
        Assert.Equal(ReasonCodes.ArgumentConstraint, PolicyEvaluator.Decide(Grant(Gated(["deploy"], new() { ["env"] = "prod" })), ToolCall("deploy", ("env", "dev"))).Reason);
    }

    public static TheoryData<PolicyRule, string> InvalidRows => new()
    {
        { Deny(tools: ["t"]) with { When = new PolicyCondition(null, ApprovalRequirement.Required) }, "rules[0].when.approval" },
        { Allow() with { When = new PolicyCondition(null, ApprovalRequirement.Required) }, "rules[0].when.approval" },
        { Gated(["t"]) with { Resources = ["file:///*"] }, "rules[0].when.approval" },
        { Gated(["t"]) with { Prompts = ["p"] }, "rules[0].when.approval" },
        { Allow(tools: ["t"]) with { When = new PolicyCondition(null) }, "rules[0].when.arguments" },
    };

    [Theory]
    [MemberData(nameof(InvalidRows))]
    public void The_validator_names_an_approval_rule_that_cannot_work(PolicyRule rule, string field) =>
        Assert.Contains(field, PolicyValidator.Validate(new PolicyDocument("p", ["spiffe://td/a"], [rule])).Keys);

    [Fact]
    public void Approval_on_named_or_attested_tools_is_valid_with_or_without_arguments()
    {
        Assert.Empty(PolicyValidator.Validate(new PolicyDocument("p", ["spiffe://td/a"], [Gated(["deploy"])])));
        Assert.Empty(PolicyValidator.Validate(new PolicyDocument("p", ["spiffe://td/a"], [Gated(["deploy"], new() { ["env"] = "prod" })])));
        Assert.Empty(PolicyValidator.Validate(new PolicyDocument("p", ["spiffe://td/a"],
            [Allow() with { Annotations = new ToolAnnotations(DestructiveHint: true), When = new PolicyCondition(null, ApprovalRequirement.Required) }])));
    }
}
