using Fabric.Contracts.Identity;
using Fabric.Contracts.Policy;
using static Fabric.Contracts.Tests.Policy.PolicyRules;

namespace Fabric.Contracts.Tests.Policy;

public class PolicyEvaluatorTests
{
    [Fact]
    public void Denies_by_default()
    {
        var decision = PolicyEvaluator.Decide(Grant(Array.Empty<PolicyRule>()), ToolCall("read_file"));
        Assert.Equal(Decision.Deny(ReasonCodes.NoMatchingAllow, GrantVersion), decision);
    }

    [Fact]
    public void Allows_a_named_tool_and_names_the_rule()
    {
        var grant = Grant(Allow(tools: ["write_file"]), Allow(tools: ["read_file"]));
        Assert.Equal(Decision.Allow(GrantVersion, "p", 1), PolicyEvaluator.Decide(grant, ToolCall("read_file")));
    }

    [Fact]
    public void A_matching_deny_wins_over_an_earlier_allow()
    {
        var grant = Grant(Allow(), Deny(tools: ["delete_*"]));
        Assert.Equal(Decision.Deny(ReasonCodes.ExplicitDeny, GrantVersion, "p", 1), PolicyEvaluator.Decide(grant, ToolCall("delete_all")));
        Assert.True(PolicyEvaluator.Decide(grant, ToolCall("read_file")).Allowed);
    }

    [Fact]
    public void A_deny_in_another_policy_wins_too()
    {
        var grant = Grant(new GrantedRule("a-allow", 0, Allow(tools: ["*"])), new GrantedRule("z-deny", 3, Deny(tools: ["rm"])));
        Assert.Equal(Decision.Deny(ReasonCodes.ExplicitDeny, GrantVersion, "z-deny", 3), PolicyEvaluator.Decide(grant, ToolCall("rm")));
    }

    public static TheoryData<PolicyRule, McpCall, bool> KindRows => new()
    {
        { Allow(tools: ["read_*"]), ToolCall("read_file"), true },
        { Allow(tools: ["read_*"]), ToolCall("write_file"), false },
        { Allow(tools: ["read_*"]), Call("resources/read", "read_file"), false },   // lists tools only
        { Allow(tools: ["read_*"]), Call("prompts/get", "read_me"), false },
        { Allow(resources: ["file:///docs/*"]), Call("resources/read", "file:///docs/a.md"), true },
        { Allow(resources: ["file:///docs/*"]), Call("resources/subscribe", "file:///docs/a.md"), true },
        { Allow(resources: ["file:///docs/*"]), Call("resources/unsubscribe", "file:///docs/a.md"), true },
        { Allow(resources: ["file:///docs/*"]), Call("resources/read", "file:///etc/passwd"), false },
        { Allow(resources: ["file:///docs/*"]), ToolCall("file:///docs/a.md"), false },
        { Allow(prompts: ["summarize-?"]), Call("prompts/get", "summarize-1"), true },
        { Allow(prompts: ["summarize-?"]), Call("prompts/get", "summarize-10"), false },
        { Allow(tools: ["a"], prompts: ["b"]), Call("prompts/get", "b"), true },
        { Allow(tools: ["a"], prompts: ["b"]), Call("resources/read", "b"), false },
        { Allow(), ToolCall("anything"), true },                                   // lists nothing: every name of every kind
        { Allow(), Call("resources/read", "file:///x"), true },
        { Allow(), Call("prompts/get", "p"), true },
        { Allow(tools: ["Read"]), ToolCall("read"), false },                       // case-sensitive
    };

    [Theory]
    [MemberData(nameof(KindRows))]
    public void Globs_apply_per_kind(PolicyRule rule, McpCall call, bool allowed)
    {
        var decision = PolicyEvaluator.Decide(Grant(rule), call);
        Assert.Equal(allowed, decision.Allowed);
        Assert.Equal(allowed ? ReasonCodes.Allowed : ReasonCodes.NoMatchingAllow, decision.Reason);
    }

    [Theory]
    [InlineData("initialize")]
    [InlineData("server/discover")]
    [InlineData("ping")]
    [InlineData("notifications/initialized")]
    [InlineData("tools/list")]
    [InlineData("resources/list")]
    [InlineData("resources/templates/list")]
    [InlineData("prompts/list")]
    [InlineData("completion/complete")]
    [InlineData("logging/setLevel")]
    [InlineData("subscriptions/listen")]
    [InlineData("notifications/cancelled")]
    [InlineData("$response")]
    [InlineData("GET (sse-stream)")]
    [InlineData("DELETE (session)")]
    public void Protocol_methods_need_some_allow_rule_on_the_server(string method)
    {
        Assert.Equal(Decision.Deny(ReasonCodes.NoMatchingAllow, GrantVersion), PolicyEvaluator.Decide(Grant(Array.Empty<PolicyRule>()), Call(method)));
        Assert.Equal(Decision.Deny(ReasonCodes.NoMatchingAllow, GrantVersion), PolicyEvaluator.Decide(Grant(Deny(tools: ["x"])), Call(method)));
        // Any allow rule opens the protocol, even a narrow or conditional one.
        var grant = Grant(Deny(tools: ["x"]), Allow(tools: ["only_this"], when: new() { ["a"] = "b" }));
        Assert.Equal(Decision.Allow(GrantVersion, "p", 1), PolicyEvaluator.Decide(grant, Call(method)));
    }

    [Theory]
    [InlineData("initialize")]
    [InlineData("ping")]
    [InlineData("tools/list")]
    [InlineData("notifications/initialized")]
    public void A_whole_server_deny_blocks_protocol_methods(string method)
    {
        var grant = Grant(Allow(), Deny());
        Assert.Equal(Decision.Deny(ReasonCodes.ExplicitDeny, GrantVersion, "p", 1), PolicyEvaluator.Decide(grant, Call(method)));
    }

    [Theory]
    [InlineData("x/custom")]
    [InlineData("Tools/Call")]        // JSON-RPC method names are case-sensitive: not tools/call
    [InlineData("tools/call ")]
    [InlineData("sampling/createMessage")] // a server-to-client method sent by a client
    [InlineData("tasks/list")]        // would list every identity's tasks
    [InlineData("")]
    public void Methods_in_no_table_are_unknown_even_under_an_allow_everything_rule(string method)
    {
        Assert.Equal(McpCallKind.Extension, McpMethods.Classify(method));
        Assert.Equal(Decision.Deny(ReasonCodes.UnknownMethod, GrantVersion), PolicyEvaluator.Decide(Grant(Allow()), Call(method, "echo")));
        Assert.Equal(Decision.Deny(ReasonCodes.UnknownMethod, GrantVersion), PolicyEvaluator.Decide(Grant(Allow(tools: ["*"])), Call(method)));
    }

    [Fact]
    public void A_rule_naming_an_extension_method_allows_exactly_that_method()
    {
        var grant = Grant(Allow(tools: ["echo"]), Allow() with { Methods = ["x/custom"] });
        Assert.Equal(Decision.Allow(GrantVersion, "p", 1), PolicyEvaluator.Decide(grant, Call("x/custom")));
        Assert.Equal(ReasonCodes.UnknownMethod, PolicyEvaluator.Decide(grant, Call("x/Custom")).Reason);
        Assert.Equal(ReasonCodes.UnknownMethod, PolicyEvaluator.Decide(grant, Call("x/other")).Reason);
        // A methods-only rule is not a whole-server rule: it allows no tool.
        Assert.Equal(ReasonCodes.NoMatchingAllow, PolicyEvaluator.Decide(Grant(Allow() with { Methods = ["x/custom"] }), ToolCall("rm")).Reason);
    }

    [Fact]
    public void A_deny_naming_an_extension_method_or_a_whole_server_deny_wins()
    {
        var allow = Allow() with { Methods = ["x/custom"] };
        Assert.Equal(Decision.Deny(ReasonCodes.ExplicitDeny, GrantVersion, "p", 1),
            PolicyEvaluator.Decide(Grant(allow, Deny() with { Methods = ["x/custom"] }), Call("x/custom")));
        Assert.Equal(Decision.Deny(ReasonCodes.ExplicitDeny, GrantVersion, "p", 1),
            PolicyEvaluator.Decide(Grant(allow, Deny()), Call("x/custom")));
        Assert.True(PolicyEvaluator.Decide(Grant(allow, Deny(tools: ["rm"])), Call("x/custom")).Allowed);
    }

    [Theory]
    [InlineData(McpGeneration.Session, "initialize", true)]
    [InlineData(McpGeneration.Stateless, "initialize", false)]
    [InlineData(McpGeneration.Stateless, "server/discover", true)]
    [InlineData(McpGeneration.Session, "server/discover", false)]
    [InlineData(McpGeneration.Session, "resources/subscribe", true)]
    [InlineData(McpGeneration.Stateless, "resources/subscribe", false)]
    [InlineData(McpGeneration.Stateless, "subscriptions/listen", true)]
    [InlineData(McpGeneration.Session, "tools/call", true)]
    [InlineData(McpGeneration.Stateless, "tools/call", true)]
    [InlineData(McpGeneration.Session, "Tools/Call", false)]
    [InlineData(McpGeneration.Session, "notifications/initialized", false)] // a notification, not a request
    [InlineData(McpGeneration.Session, "roots/list", false)]                 // server to client
    public void The_request_table_is_per_generation(McpGeneration generation, string method, bool request) =>
        Assert.Equal(request, McpMethods.IsRequest(generation, method));

    [Theory]
    [InlineData(McpGeneration.Session, "notifications/initialized", true)]
    [InlineData(McpGeneration.Stateless, "notifications/initialized", false)]
    [InlineData(McpGeneration.Stateless, "notifications/cancelled", true)]
    [InlineData(McpGeneration.Session, "notifications/message", false)]      // server to client
    [InlineData(McpGeneration.Session, "ping", false)]
    public void The_notification_table_is_per_generation(McpGeneration generation, string method, bool notification) =>
        Assert.Equal(notification, McpMethods.IsNotification(generation, method));

    [Fact]
    public void Narrow_or_conditional_denies_do_not_block_protocol_methods()
    {
        var grant = Grant(Allow(), Deny(tools: ["rm"]), Deny(when: new() { ["path"] = "/etc/*" }));
        Assert.Equal(Decision.Allow(GrantVersion, "p", 0), PolicyEvaluator.Decide(grant, Call("initialize")));
    }

    [Fact]
    public void An_argument_constraint_that_holds_allows()
    {
        var grant = Grant(Allow(tools: ["read_file"], when: new() { ["path"] = "/tmp/*", ["mode"] = "r?" }));
        Assert.Equal(Decision.Allow(GrantVersion, "p", 0), PolicyEvaluator.Decide(grant, ToolCall("read_file", ("path", "/tmp/a"), ("mode", "ro"), ("extra", "x"))));
    }

    [Fact]
    public void An_argument_constraint_that_fails_denies_with_its_rule()
    {
        var grant = Grant(Allow(tools: ["other"]), Allow(tools: ["read_file"], when: new() { ["path"] = "/tmp/*" }));
        Assert.Equal(
            Decision.Deny(ReasonCodes.ArgumentConstraint, GrantVersion, "p", 1),
            PolicyEvaluator.Decide(grant, ToolCall("read_file", ("path", "/etc/passwd"))));
    }

    [Fact]
    public void A_missing_constrained_argument_fails_the_constraint()
    {
        var grant = Grant(Allow(tools: ["read_file"], when: new() { ["path"] = "*" }));
        Assert.Equal(Decision.Deny(ReasonCodes.ArgumentConstraint, GrantVersion, "p", 0), PolicyEvaluator.Decide(grant, ToolCall("read_file")));
        Assert.Equal(Decision.Deny(ReasonCodes.ArgumentConstraint, GrantVersion, "p", 0),
            PolicyEvaluator.Decide(grant, new McpCall(McpMethods.ToolsCall, "read_file", Arguments: null)));
    }

    [Fact]
    public void Another_allow_rule_can_allow_what_a_constrained_rule_did_not()
    {
        var grant = Grant(Allow(tools: ["read_file"], when: new() { ["path"] = "/tmp/*" }), Allow(tools: ["read_*"]));
        Assert.Equal(Decision.Allow(GrantVersion, "p", 1), PolicyEvaluator.Decide(grant, ToolCall("read_file", ("path", "/etc/x"))));
    }

    [Fact]
    public void A_constrained_rule_for_another_name_is_no_argument_failure()
    {
        var grant = Grant(Allow(tools: ["write_file"], when: new() { ["path"] = "/tmp/*" }));
        Assert.Equal(Decision.Deny(ReasonCodes.NoMatchingAllow, GrantVersion), PolicyEvaluator.Decide(grant, ToolCall("read_file", ("path", "/x"))));
    }

    [Fact]
    public void Non_string_arguments_match_as_raw_json()
    {
        var grant = Grant(Allow(tools: ["t"], when: new() { ["count"] = "?", ["dry"] = "true" }));
        Assert.True(PolicyEvaluator.Decide(grant, ToolCall("t", ("count", "5"), ("dry", "true"))).Allowed);
        Assert.False(PolicyEvaluator.Decide(grant, ToolCall("t", ("count", "50"), ("dry", "true"))).Allowed);
    }

    [Fact]
    public void Constraints_apply_to_prompt_arguments_too()
    {
        var grant = Grant(Allow(prompts: ["summarize"], when: new() { ["style"] = "short" }));
        Assert.True(PolicyEvaluator.Decide(grant, new McpCall("prompts/get", "summarize", new Dictionary<string, string> { ["style"] = "short" })).Allowed);
        Assert.Equal(Decision.Deny(ReasonCodes.ArgumentConstraint, GrantVersion, "p", 0), PolicyEvaluator.Decide(grant, Call("prompts/get", "summarize")));
    }

    [Fact]
    public void A_conditional_whole_server_allow_does_not_allow_argument_less_resource_reads()
    {
        var grant = Grant(Allow(when: new() { ["path"] = "*" }));
        Assert.Equal(Decision.Deny(ReasonCodes.ArgumentConstraint, GrantVersion, "p", 0), PolicyEvaluator.Decide(grant, Call("resources/read", "file:///a")));
    }

    [Theory]
    [InlineData("/etc/passwd", false, ReasonCodes.ExplicitDeny)]   // constraint holds: the deny applies
    [InlineData("/tmp/a", true, ReasonCodes.Allowed)]             // constraint fails: the deny does not
    [InlineData(null, true, ReasonCodes.Allowed)]                 // argument missing: the deny does not
    public void A_deny_with_when_denies_only_when_its_constraint_holds(string? path, bool allowed, string reason)
    {
        var grant = Grant(Allow(tools: ["*"]), Deny(tools: ["read_file"], when: new() { ["path"] = "/etc/*" }));
        var call = path is null ? ToolCall("read_file") : ToolCall("read_file", ("path", path));
        var decision = PolicyEvaluator.Decide(grant, call);
        Assert.Equal(allowed, decision.Allowed);
        Assert.Equal(reason, decision.Reason);
        Assert.Equal(allowed ? 0 : 1, decision.Rule);
    }

    [Theory]
    [InlineData("tools/call", "read_file")]
    [InlineData("initialize", null)]
    [InlineData("tools/list", null)]
    public void A_disabled_workload_is_denied_first(string method, string? name)
    {
        var grant = Grant(Allow()) with { Enabled = false };
        Assert.Equal(Decision.Deny(ReasonCodes.WorkloadDisabled, GrantVersion), PolicyEvaluator.Decide(grant, Call(method, name)));
    }

    [Fact]
    public void A_named_call_without_a_name_is_denied()
    {
        Assert.Equal(Decision.Deny(ReasonCodes.NoMatchingAllow, GrantVersion), PolicyEvaluator.Decide(Grant(Allow()), Call("tools/call")));
    }

    [Fact]
    public void Every_decision_carries_the_grant_version()
    {
        var grant = Grant(Allow(tools: ["a"])) with { Version = 1234 };
        Assert.All(
            new[] { ToolCall("a"), ToolCall("b"), Call("ping") },
            call => Assert.Equal(1234, PolicyEvaluator.Decide(grant, call).Version));
    }

    public static TheoryData<PolicyRule[], McpCallKind, string, bool> VisibleRows => new()
    {
        { [Allow(tools: ["read_*"])], McpCallKind.Tool, "read_file", true },
        { [Allow(tools: ["read_*"])], McpCallKind.Tool, "write_file", false },
        { [Allow(tools: ["read_*"], when: new() { ["path"] = "/tmp/*" })], McpCallKind.Tool, "read_file", true },  // when is checked per call
        { [Allow(), Deny(tools: ["rm"])], McpCallKind.Tool, "rm", false },
        { [Allow(), Deny(tools: ["rm"], when: new() { ["force"] = "true" })], McpCallKind.Tool, "rm", true },    // may still be callable
        { [Allow(), Deny()], McpCallKind.Tool, "x", false },
        { [Allow(resources: ["file:///docs/*"])], McpCallKind.Resource, "file:///docs/{path}", true },        // templates: by their text
        { [Allow(resources: ["file:///docs/*.md"])], McpCallKind.Resource, "file:///docs/{path}", false },
        { [Allow(prompts: ["p"])], McpCallKind.Prompt, "p", true },
        { [Allow(prompts: ["p"])], McpCallKind.Tool, "p", false },
        { [Deny(tools: ["x"])], McpCallKind.Tool, "y", false },
        { [Allow()], McpCallKind.Protocol, "ping", false },
    };

    [Theory]
    [MemberData(nameof(VisibleRows))]
    public void Filters_list_items(PolicyRule[] rules, McpCallKind kind, string name, bool visible) =>
        Assert.Equal(visible, PolicyEvaluator.IsVisible(Grant(rules), kind, name));

    [Fact]
    public void Nothing_is_visible_to_a_disabled_workload() =>
        Assert.False(PolicyEvaluator.IsVisible(Grant(Allow()) with { Enabled = false }, McpCallKind.Tool, "x"));

    // Subjects and server globs are resolved by the catalog; these run the whole path.
    [Theory]
    [InlineData("spiffe://td/agents/*", "spiffe://td/agents/a", "files", true)]
    [InlineData("spiffe://td/agents/*", "spiffe://td/agents/team/b", "files", true)]
    [InlineData("spiffe://td/agents/*", "spiffe://td/agentsx", "files", false)]
    [InlineData("spiffe://td/agents/*", "spiffe://td/agents", "files", false)]
    [InlineData("spiffe://td/*", "spiffe://td/anything/at/all", "files", true)]
    [InlineData("spiffe://td/*", "spiffe://other/anything", "files", false)]
    [InlineData("spiffe://td/agents/a", "spiffe://td/agents/a", "files", true)]
    [InlineData("spiffe://td/agents/a", "spiffe://td/agents/a", "mail", false)]
    public void Subjects_and_servers_come_from_the_catalog(string subject, string workload, string server, bool allowed)
    {
        var catalog = new PolicyCatalog(9, [new PolicyDocument("p", [subject], [Allow(server: "file?", tools: ["read"])])]);
        var grant = catalog.GrantFor(SpiffeId.Parse(workload), server, enabled: true);
        var decision = PolicyEvaluator.Decide(grant, ToolCall("read"));
        Assert.Equal(allowed, decision.Allowed);
        Assert.Equal(9, decision.Version);
    }

    [Theory]
    [InlineData("*", "github", true)]
    [InlineData("git*", "github", true)]
    [InlineData("git*", "gitlab", true)]
    [InlineData("git*", "forgejo", false)]
    [InlineData("github-??", "github-eu", true)]
    [InlineData("github-??", "github-eu2", false)]
    public void Server_globs_select_rules(string serverGlob, string server, bool allowed)
    {
        var catalog = new PolicyCatalog(1, [new PolicyDocument("p", ["spiffe://td/*"], [Allow(server: serverGlob)])]);
        var grant = catalog.GrantFor(SpiffeId.Parse("spiffe://td/a"), server, enabled: true);
        Assert.Equal(allowed, PolicyEvaluator.Decide(grant, Call("initialize")).Allowed);
    }
}
