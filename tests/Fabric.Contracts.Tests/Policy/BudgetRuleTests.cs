using Fabric.Contracts.Policy;
using static Fabric.Contracts.Tests.Policy.PolicyRules;

namespace Fabric.Contracts.Tests.Policy;

/// <summary>
/// Issue 12 §4: budgets on allow rules. What a limit may be, and which budgets a call is charged to: every limited
/// allow rule that applies and whose <c>when</c> holds (a broader allow is no way around a tighter one), keyed per
/// identity × server, and × tool when the rule names tools.
/// </summary>
public class BudgetRuleTests
{
    private const string Agent = "spiffe://td/agents/a";
    private static readonly CallLimit Ten = new(10, "1m");

    [Theory]
    [InlineData("1s", 1)]
    [InlineData("30s", 30)]
    [InlineData("1m", 60)]
    [InlineData("1h", 3600)]
    [InlineData("1d", 86_400)]
    [InlineData("7d", 604_800)]
    [InlineData("168h", 604_800)]
    public void A_window_is_a_whole_number_and_a_unit(string per, int seconds)
    {
        Assert.True(CallLimit.TryParseWindow(per, out var window));
        Assert.Equal(TimeSpan.FromSeconds(seconds), window);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("m")]
    [InlineData("0s")]
    [InlineData("-1m")]
    [InlineData("+1m")]
    [InlineData("1.5h")]
    [InlineData("1 m")]
    [InlineData(" 1m")]
    [InlineData("1M")]
    [InlineData("1w")]
    [InlineData("8d")]
    [InlineData("169h")]
    [InlineData("99999999d")]
    [InlineData("١m")] // an Arabic-Indic digit: digits are ASCII only
    public void Anything_else_is_no_window(string? per) => Assert.False(CallLimit.TryParseWindow(per, out _));

    [Fact]
    public void Windows_are_aligned_to_the_epoch_so_every_node_agrees_where_one_ends()
    {
        var now = new DateTimeOffset(2026, 12, 3, 10, 17, 42, 500, TimeSpan.FromHours(2));
        Assert.Equal(new DateTimeOffset(2026, 12, 3, 8, 17, 0, TimeSpan.Zero), CallLimit.WindowStart(now, TimeSpan.FromMinutes(1)));
        Assert.Equal(new DateTimeOffset(2026, 12, 3, 0, 0, 0, TimeSpan.Zero), CallLimit.WindowStart(now, TimeSpan.FromDays(1)));
        Assert.Equal(new DateTimeOffset(2026, 12, 3, 8, 17, 30, TimeSpan.Zero), CallLimit.WindowStart(now, TimeSpan.FromSeconds(30)));
    }

    public static TheoryData<PolicyRule, string> InvalidRows => new()
    {
        { Deny(tools: ["t"]) with { Limit = Ten }, "rules[0].limit" },
        { Allow(resources: ["file:///*"]) with { Limit = Ten }, "rules[0].limit" },
        { Allow(prompts: ["p"]) with { Limit = Ten }, "rules[0].limit" },
        { Allow() with { Methods = ["x/custom"], Limit = Ten }, "rules[0].limit" },
        { Allow(tools: ["t"]) with { Limit = new CallLimit(0, "1m") }, "rules[0].limit.calls" },
        { Allow(tools: ["t"]) with { Limit = new CallLimit(-5, "1m") }, "rules[0].limit.calls" },
        { Allow(tools: ["t"]) with { Limit = new CallLimit(CallLimit.MaxCalls + 1, "1m") }, "rules[0].limit.calls" },
        { Allow(tools: ["t"]) with { Limit = new CallLimit(10, "1w") }, "rules[0].limit.per" },
        { Allow(tools: ["t"]) with { Limit = new CallLimit(10, null!) }, "rules[0].limit.per" },
        { new PolicyRule("", PolicyEffect.Allow, Egress: "github", Limit: Ten), "rules[0].limit" },
    };

    [Theory]
    [MemberData(nameof(InvalidRows))]
    public void The_validator_names_a_limit_that_cannot_work(PolicyRule rule, string field) =>
        Assert.Contains(field, PolicyValidator.Validate(new PolicyDocument("p", [Agent], [rule])).Keys);

    [Fact]
    public void A_limit_on_tools_a_whole_server_or_attested_annotations_is_valid()
    {
        foreach (var rule in new[]
        {
            Allow(tools: ["search_*"]) with { Limit = Ten },
            Allow() with { Limit = new CallLimit(CallLimit.MaxCalls, "7d") },
            Allow(tools: ["t"], prompts: ["p"]) with { Limit = Ten },
            Allow() with { Annotations = new ToolAnnotations(ReadOnlyHint: true), Limit = new CallLimit(1, "1s") },
        })
        {
            Assert.Empty(PolicyValidator.Validate(new PolicyDocument("p", [Agent], [rule])));
        }
    }

    [Fact]
    public void A_rule_naming_tools_keeps_a_budget_per_tool_and_a_whole_server_rule_one_for_all()
    {
        var grant = Grant(Allow(tools: ["*"]) with { Limit = Ten }, Allow() with { Limit = new CallLimit(100, "1h") });
        var echo = PolicyEvaluator.ChargesOf(grant, Agent, "files", ToolCall("echo"));
        var add = PolicyEvaluator.ChargesOf(grant, Agent, "files", ToolCall("add"));
        Assert.Equal(2, echo.Count);
        Assert.Equal(2, add.Count);
        Assert.NotEqual(echo[0].Key, add[0].Key);   // per tool
        Assert.Equal(echo[1].Key, add[1].Key);      // per server
        Assert.Equal(Ten, echo[0].Limit);
        // Per identity and per server.
        Assert.NotEqual(echo[1].Key, PolicyEvaluator.ChargesOf(grant, "spiffe://td/agents/b", "files", ToolCall("echo"))[1].Key);
        Assert.NotEqual(echo[1].Key, PolicyEvaluator.ChargesOf(grant, Agent, "other", ToolCall("echo"))[1].Key);
    }

    [Fact]
    public void A_changed_limit_is_a_new_budget()
    {
        var before = PolicyEvaluator.ChargesOf(Grant(Allow(tools: ["t"]) with { Limit = Ten }), Agent, "files", ToolCall("t"));
        var after = PolicyEvaluator.ChargesOf(Grant(Allow(tools: ["t"]) with { Limit = new CallLimit(20, "1m") }), Agent, "files", ToolCall("t"));
        Assert.NotEqual(Assert.Single(before).Key, Assert.Single(after).Key);
    }

    [Fact]
    public void Only_tool_calls_are_charged_and_only_to_limited_allow_rules_that_apply()
    {
        var grant = Grant(
            Allow(tools: ["t"], when: new() { ["mode"] = "fast" }) with { Limit = Ten },
            Allow(tools: ["other"]) with { Limit = Ten },
            Allow(tools: ["t"]),
            Deny(tools: ["t"], when: new() { ["mode"] = "never" }));
        Assert.Single(PolicyEvaluator.ChargesOf(grant, Agent, "files", ToolCall("t", ("mode", "fast"))));
        Assert.Empty(PolicyEvaluator.ChargesOf(grant, Agent, "files", ToolCall("t", ("mode", "slow"))));   // its when fails
        Assert.Empty(PolicyEvaluator.ChargesOf(grant, Agent, "files", Call(McpMethods.ToolsList)));
        Assert.Empty(PolicyEvaluator.ChargesOf(grant, Agent, "files", Call("prompts/get", "t")));
        Assert.Empty(PolicyEvaluator.ChargesOf(grant, Agent, "files", Call("ping")));
        Assert.Empty(PolicyEvaluator.ChargesOf(Grant(Allow(tools: ["t"])), Agent, "files", ToolCall("t")));
    }

    [Fact]
    public void A_limited_rule_on_annotations_charges_only_attested_tools()
    {
        var grant = Grant(Allow() with { Annotations = new ToolAnnotations(ReadOnlyHint: true), Limit = Ten });
        Assert.Empty(PolicyEvaluator.ChargesOf(grant, Agent, "files", ToolCall("read")));
        Assert.Single(PolicyEvaluator.ChargesOf(grant, Agent, "files", ToolCall("read") with { Attested = new ToolAnnotations(ReadOnlyHint: true) }));
    }
}
