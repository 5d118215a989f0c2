namespace Fabric.Contracts.Policy;

/// <summary>
/// Decides MCP calls against a <see cref="WorkloadGrant"/> (the rules that apply to one workload
/// on one server). Pure and allocation-light: the edge runs it on every message.
/// <code>
///   disabled workload            → workload-disabled
///   extension method (x/custom)  → deny rule naming it in methods   → explicit-deny
///                                  allow rule naming it in methods  → allowed
///                                  else                             → unknown-method
///   protocol method              → whole-server deny without when → explicit-deny
///                                  some allow rule                 → allowed (first allow rule)
///                                  else                            → no-matching-allow
///   tools/resources/prompts call → deny rule applies, when holds   → explicit-deny (deny wins)
///                                  allow rule applies, when holds  → allowed, unless an allow rule that
///                                    applies and holds has when.approval → approval-required
///                                  allow rule applies, when fails  → argument-constraint
///                                  else                            → no-matching-allow
/// </code>
/// A rule with <c>annotations</c> applies only to tools whose operator-attested annotations match it (never to what a
/// server reports about its tools); an unattested tool matches no such rule.
/// "First" is grant order (policy name, then rule index), so the named policy/rule is stable.
/// </summary>
public static class PolicyEvaluator
{
    public static Decision Decide(WorkloadGrant grant, McpCall call)
    {
        ArgumentNullException.ThrowIfNull(grant);
        ArgumentNullException.ThrowIfNull(call);
        if (!grant.Enabled)
        {
            return Decision.Deny(ReasonCodes.WorkloadDisabled, grant.Version);
        }
        var kind = McpMethods.Classify(call.Method);
        return kind switch
        {
            McpCallKind.Protocol => DecideProtocol(grant),
            McpCallKind.Extension => DecideExtension(grant, call.Method),
            _ => DecideNamed(grant, kind, call),
        };
    }

    /// <summary>
    /// Whether a listed item stays in a filtered list result: the workload is enabled, some allow
    /// rule applies to the name (its <c>when</c> ignored: the constraint is checked per call), and
    /// no unconditional deny rule applies. <see cref="McpCallKind.Protocol"/> names nothing: false.
    /// </summary>
    public static bool IsVisible(WorkloadGrant grant, McpCallKind kind, string name, ToolAnnotations? attested = null)
    {
        ArgumentNullException.ThrowIfNull(grant);
        ArgumentNullException.ThrowIfNull(name);
        if (!grant.Enabled || kind is McpCallKind.Protocol or McpCallKind.Extension)
        {
            return false;
        }
        var allowed = false;
        var rules = grant.Rules;
        for (var i = 0; i < rules.Count; i++)
        {
            var rule = rules[i].Rule;
            if (!AppliesTo(rule, kind, name, attested))
            {
                continue;
            }
            if (rule.Effect == PolicyEffect.Deny && rule.When is null)
            {
                return false;
            }
            allowed |= rule.Effect == PolicyEffect.Allow;
        }
        return allowed;
    }

    /// <summary>
    /// True when <paramref name="rule"/> covers a call of <paramref name="kind"/> on <paramref name="name"/>:
    /// a rule that lists none of tools/resources/prompts covers every name of every kind; otherwise
    /// only the kinds it lists, and there only the names its globs match. A rule on <see cref="PolicyRule.Annotations"/>
    /// covers only tools (those its tool globs match, or all), and of those only the ones whose <paramref name="attested"/>
    /// annotations match it.
    /// </summary>
    public static bool AppliesTo(PolicyRule rule, McpCallKind kind, string name, ToolAnnotations? attested = null)
    {
        ArgumentNullException.ThrowIfNull(rule);
        if (rule.Annotations is { } annotations)
        {
            return kind == McpCallKind.Tool && annotations.Matches(attested) && (rule.Tools is not { } tools || Matches(tools, name));
        }
        if (IsWholeServer(rule))
        {
            return true;
        }
        var globs = kind switch
        {
            McpCallKind.Tool => rule.Tools,
            McpCallKind.Resource => rule.Resources,
            McpCallKind.Prompt => rule.Prompts,
            _ => null,
        };
        return globs is not null && Matches(globs, name);
    }

    private static bool Matches(IReadOnlyList<string> globs, string name)
    {
        for (var i = 0; i < globs.Count; i++)
        {
            if (Glob.IsMatch(globs[i], name))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>A rule that lists no tools, resources, prompts, methods or annotations applies to the whole server.</summary>
    public static bool IsWholeServer(PolicyRule rule)
    {
        ArgumentNullException.ThrowIfNull(rule);
        return rule.Tools is null && rule.Resources is null && rule.Prompts is null && rule.Methods is null && rule.Annotations is null;
    }

    /// <summary>
    /// The budgets an allowed tool call is charged to (issue 12 §4): every allow rule with a <c>limit</c> that applies
    /// to the call and whose <c>when</c> holds — not only the one that decided, so a second, tighter allow cannot be
    /// dodged by a broader one. The key names the rule (policy, index, the limit itself: a changed limit is a new
    /// budget), the workload and the server, and the tool when the rule names tools. Empty for anything but a named
    /// tool call.
    /// </summary>
    public static IReadOnlyList<BudgetCharge> ChargesOf(WorkloadGrant grant, string workload, string server, McpCall call)
    {
        ArgumentNullException.ThrowIfNull(grant);
        ArgumentNullException.ThrowIfNull(call);
        if (!grant.HasLimits || call.Name is not { } name || McpMethods.Classify(call.Method) != McpCallKind.Tool)
        {
            return [];
        }
        List<BudgetCharge>? charges = null;
        var rules = grant.Rules;
        for (var i = 0; i < rules.Count; i++)
        {
            var granted = rules[i];
            var rule = granted.Rule;
            if (rule is not { Effect: PolicyEffect.Allow, Limit: { } limit } || !AppliesTo(rule, McpCallKind.Tool, name, call.Attested) || !Holds(rule.When, call.Arguments))
            {
                continue;
            }
            // Unit separators: none of the parts can hold one (names, SPIFFE IDs, limits are validated printable).
            var key = string.Join('', granted.Policy, granted.Index.ToString(System.Globalization.CultureInfo.InvariantCulture),
                limit.Calls.ToString(System.Globalization.CultureInfo.InvariantCulture), limit.Per, workload, server, rule.Tools is null ? "" : name);
            (charges ??= []).Add(new BudgetCharge(granted, limit, key));
        }
        return charges ?? (IReadOnlyList<BudgetCharge>)[];
    }

    /// <summary>
    /// True when every constrained argument is present and its value matches the glob. A missing
    /// argument fails the constraint: "path must match /tmp/*" must not pass by omitting path.
    /// </summary>
    public static bool Holds(PolicyCondition? condition, IReadOnlyDictionary<string, string>? arguments)
    {
        if (condition?.Arguments is not { } constraints)
        {
            return true;
        }
        foreach (var (argument, glob) in constraints)
        {
            if (arguments is null || !arguments.TryGetValue(argument, out var value) || !Glob.IsMatch(glob, value))
            {
                return false;
            }
        }
        return true;
    }

    private static Decision DecideProtocol(WorkloadGrant grant)
    {
        // Protocol methods carry no tool arguments, so a conditional deny never applies to them;
        // an unconditional whole-server deny shuts the server off entirely, handshake included.
        GrantedRule? firstAllow = null;
        var rules = grant.Rules;
        for (var i = 0; i < rules.Count; i++)
        {
            var granted = rules[i];
            var rule = granted.Rule;
            if (ClosesServer(rule))
            {
                return Decision.Deny(ReasonCodes.ExplicitDeny, grant.Version, granted.Policy, granted.Index);
            }
            if (rule.Effect == PolicyEffect.Allow)
            {
                firstAllow ??= granted;
            }
        }
        return firstAllow is null
            ? Decision.Deny(ReasonCodes.NoMatchingAllow, grant.Version)
            : Decision.Allow(grant.Version, firstAllow.Policy, firstAllow.Index);
    }

    private static Decision DecideExtension(WorkloadGrant grant, string method)
    {
        // Only rules that name the method exactly decide it; a whole-server rule does not: an allow on "every tool"
        // says nothing about methods the fabric cannot read, but a whole-server deny still shuts the server off.
        GrantedRule? allow = null;
        var rules = grant.Rules;
        for (var i = 0; i < rules.Count; i++)
        {
            var granted = rules[i];
            var rule = granted.Rule;
            if (ClosesServer(rule))
            {
                return Decision.Deny(ReasonCodes.ExplicitDeny, grant.Version, granted.Policy, granted.Index);
            }
            if (rule.Methods is not { } methods || !Names(methods, method))
            {
                continue;
            }
            if (rule.Effect == PolicyEffect.Deny)
            {
                return Decision.Deny(ReasonCodes.ExplicitDeny, grant.Version, granted.Policy, granted.Index);
            }
            allow ??= granted;
        }
        return allow is null
            ? Decision.Deny(ReasonCodes.UnknownMethod, grant.Version)
            : Decision.Allow(grant.Version, allow.Policy, allow.Index);
    }

    /// <summary>An unconditional whole-server deny: it shuts the server off for every method, handshake included.</summary>
    private static bool ClosesServer(PolicyRule rule) => rule.Effect == PolicyEffect.Deny && rule.When is null && IsWholeServer(rule);

    private static bool Names(IReadOnlyList<string> methods, string method)
    {
        for (var i = 0; i < methods.Count; i++)
        {
            if (string.Equals(methods[i], method, StringComparison.Ordinal))
            {
                return true;
            }
        }
        return false;
    }

    private static Decision DecideNamed(WorkloadGrant grant, McpCallKind kind, McpCall call)
    {
        // A named call without a name is malformed; nothing can allow it (fail closed).
        if (call.Name is not { } name)
        {
            return Decision.Deny(ReasonCodes.NoMatchingAllow, grant.Version);
        }
        GrantedRule? allow = null;
        GrantedRule? constrained = null;
        GrantedRule? approval = null;
        var rules = grant.Rules;
        for (var i = 0; i < rules.Count; i++)
        {
            var granted = rules[i];
            var rule = granted.Rule;
            if (!AppliesTo(rule, kind, name, call.Attested))
            {
                continue;
            }
            var holds = Holds(rule.When, call.Arguments);
            if (rule.Effect == PolicyEffect.Deny)
            {
                if (holds)
                {
                    // Deny wins over any allow, earlier or later: return at once.
                    return Decision.Deny(ReasonCodes.ExplicitDeny, grant.Version, granted.Policy, granted.Index);
                }
            }
            else if (holds)
            {
                allow ??= granted;
                if (rule.When?.Approval == ApprovalRequirement.Required)
                {
                    approval ??= granted;
                }
            }
            else
            {
                constrained ??= granted;
            }
        }
        if (approval is not null)
        {
            // Any allow that applies and asks for approval gates the call: a broader allow is no way around it.
            return Decision.Deny(ReasonCodes.ApprovalRequired, grant.Version, approval.Policy, approval.Index);
        }
        if (allow is not null)
        {
            return Decision.Allow(grant.Version, allow.Policy, allow.Index);
        }
        return constrained is null
            ? Decision.Deny(ReasonCodes.NoMatchingAllow, grant.Version)
            : Decision.Deny(ReasonCodes.ArgumentConstraint, grant.Version, constrained.Policy, constrained.Index);
    }
}
