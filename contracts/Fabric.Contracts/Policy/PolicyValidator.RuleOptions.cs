namespace Fabric.Contracts.Policy;

/// <summary>
/// What issue 12 added to a rule on MCP calls: <c>annotations</c> (attested tools), <c>when.approval</c> (an admin's
/// approval per call) and <c>limit</c> (a budget), each checked for the rules it can mean something on.
/// </summary>
public static partial class PolicyValidator
{
    /// <summary>
    /// <c>annotations</c> narrows a rule to tools the operator attested (issue 12 §2): at least one hint, and no resources,
    /// prompts or methods beside it (they have no annotations; silently ignoring them would widen or narrow the rule).
    /// </summary>
    private static void ValidateAnnotations(PolicyRule rule, string path, Action<string, string> add)
    {
        if (rule.Annotations is not { } annotations)
        {
            return;
        }
        if (annotations.IsEmpty)
        {
            add(path + ".annotations", "annotations must set at least one of readOnlyHint, destructiveHint, idempotentHint, openWorldHint (true or false)");
        }
        foreach (var (field, value) in new[] { ("resources", (object?)rule.Resources), ("prompts", rule.Prompts), ("methods", rule.Methods) })
        {
            if (value is not null)
            {
                add($"{path}.{field}", $"a rule on annotations covers tools only; put {field} in a rule of their own");
            }
        }
    }

    /// <summary>
    /// <c>when.approval</c> gates tool calls an allow rule allows (issue 12 §3): on a deny rule, or a rule that covers
    /// anything but named (or attested) tools, it would be meaningless or far broader than meant.
    /// </summary>
    private static void ValidateApproval(PolicyRule rule, string path, Action<string, string> add)
    {
        if (rule.When?.Approval is null)
        {
            return;
        }
        if (rule.Effect != PolicyEffect.Allow)
        {
            add(path + ".when.approval", "approval gates what an allow rule allows; a deny rule allows nothing");
        }
        if ((rule.Tools is null && rule.Annotations is null) || rule.Resources is not null || rule.Prompts is not null || rule.Methods is not null)
        {
            add(path + ".when.approval", "approval gates tool calls: name the tools (tools or annotations), and nothing else, in the rule");
        }
    }

    /// <summary><c>limit: {calls, per}</c>: allow rules that cover tools only (tool calls are what is counted).</summary>
    private static void ValidateLimit(PolicyRule rule, string path, Action<string, string> add)
    {
        if (rule.Limit is not { } limit)
        {
            return;
        }
        if (rule.Effect != PolicyEffect.Allow)
        {
            add(path + ".limit", "limit budgets what an allow rule allows; a deny rule has nothing to count");
        }
        if (rule.Tools is null && rule.Annotations is null && !PolicyEvaluator.IsWholeServer(rule))
        {
            add(path + ".limit", "limit counts tool calls; the rule covers no tools (name tools, or no kind at all for every tool)");
        }
        if (limit.Calls is < 1 or > CallLimit.MaxCalls)
        {
            add(path + ".limit.calls", $"calls is a whole number from 1 to {CallLimit.MaxCalls}");
        }
        if (!CallLimit.TryParseWindow(limit.Per, out _))
        {
            add(path + ".limit.per", "per is a positive whole number and a unit s, m, h or d (\"30s\", \"1m\", \"1h\", \"1d\"), from 1 second to 7 days");
        }
    }
}
