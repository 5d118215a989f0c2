namespace Fabric.Contracts.Policy;

/// <summary>What a JSON-RPC method asks for, as far as policy is concerned.</summary>
public enum McpCallKind
{
    /// <summary>Anything that names no tool, resource or prompt: gated by "some allow rule names the server".</summary>
    Protocol = 0,
    /// <summary><c>tools/call</c>; the name is the tool name.</summary>
    Tool = 1,
    /// <summary><c>resources/read</c>, <c>resources/subscribe</c>, <c>resources/unsubscribe</c>; the name is the URI.</summary>
    Resource = 2,
    /// <summary><c>prompts/get</c>; the name is the prompt name.</summary>
    Prompt = 3,
}

/// <summary>
/// How a list response is filtered: which result array holds the items, which item property is
/// the name matched against the rules of <see cref="Kind"/>.
/// </summary>
public readonly record struct McpListFilter(McpCallKind Kind, string ResultProperty, string NameProperty);

/// <summary>
/// Classifies MCP methods (MCP spec 2025-06-18, "Server Features"). Method names are compared
/// ordinally: JSON-RPC method names are case-sensitive, and anything that is not one of the five
/// named-call methods is a protocol method (initialize, ping, notifications/*, */list,
/// completion/complete, logging/setLevel, and methods this version does not know).
/// </summary>
public static class McpMethods
{
    public const string ToolsCall = "tools/call";
    public const string ResourcesRead = "resources/read";
    public const string ResourcesSubscribe = "resources/subscribe";
    public const string ResourcesUnsubscribe = "resources/unsubscribe";
    public const string PromptsGet = "prompts/get";

    public const string ToolsList = "tools/list";
    public const string ResourcesList = "resources/list";
    public const string ResourceTemplatesList = "resources/templates/list";
    public const string PromptsList = "prompts/list";

    public static McpCallKind Classify(string method) => method switch
    {
        ToolsCall => McpCallKind.Tool,
        ResourcesRead or ResourcesSubscribe or ResourcesUnsubscribe => McpCallKind.Resource,
        PromptsGet => McpCallKind.Prompt,
        _ => McpCallKind.Protocol,
    };

    /// <summary>
    /// The filter for a list method's result, or null when <paramref name="method"/> is not a
    /// filtered list. Resource templates are filtered by their <c>uriTemplate</c> text matched
    /// against the rule's resource globs (e.g. <c>file:///docs/*</c> shows
    /// <c>file:///docs/{path}</c>). That can hide a template whose concrete URIs a narrower glob
    /// would allow; hiding is the fail-closed side, and each concrete <c>resources/read</c> is still
    /// decided on its own URI.
    /// </summary>
    public static McpListFilter? ListFilterFor(string method) => method switch
    {
        ToolsList => new McpListFilter(McpCallKind.Tool, "tools", "name"),
        ResourcesList => new McpListFilter(McpCallKind.Resource, "resources", "uri"),
        ResourceTemplatesList => new McpListFilter(McpCallKind.Resource, "resourceTemplates", "uriTemplate"),
        PromptsList => new McpListFilter(McpCallKind.Prompt, "prompts", "name"),
        _ => null,
    };
}
