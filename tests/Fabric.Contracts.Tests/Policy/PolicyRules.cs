using Fabric.Contracts.Policy;

namespace Fabric.Contracts.Tests.Policy;

/// <summary>Short builders for rules, grants and calls used by the policy tests.</summary>
internal static class PolicyRules
{
    public const long GrantVersion = 42;

    public static PolicyRule Allow(
        string server = "files", string[]? tools = null, string[]? resources = null, string[]? prompts = null,
        Dictionary<string, string>? when = null) =>
        new(server, PolicyEffect.Allow, tools, resources, prompts, when is null ? null : new PolicyCondition(when));

    public static PolicyRule Deny(
        string server = "files", string[]? tools = null, string[]? resources = null, string[]? prompts = null,
        Dictionary<string, string>? when = null) =>
        new(server, PolicyEffect.Deny, tools, resources, prompts, when is null ? null : new PolicyCondition(when));

    /// <summary>A grant whose rules all come from policy "p", indexed in order.</summary>
    public static WorkloadGrant Grant(params PolicyRule[] rules) =>
        new(GrantVersion, true, [.. rules.Select((r, i) => new GrantedRule("p", i, r))]);

    public static WorkloadGrant Grant(params GrantedRule[] rules) => new(GrantVersion, true, rules);

    public static McpCall ToolCall(string name, params (string Name, string Value)[] arguments) =>
        new(McpMethods.ToolsCall, name, arguments.ToDictionary(a => a.Name, a => a.Value));

    public static McpCall Call(string method, string? name = null) => new(method, name);
}
