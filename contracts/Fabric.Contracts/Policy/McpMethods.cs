using System.Collections.Frozen;

namespace Fabric.Contracts.Policy;

/// <summary>What a JSON-RPC method asks for, as far as policy is concerned.</summary>
public enum McpCallKind
{
    /// <summary>A method of the MCP method table that names no tool, resource or prompt: gated by "some allow rule names the server".</summary>
    Protocol = 0,
    /// <summary><c>tools/call</c>; the name is the tool name.</summary>
    Tool = 1,
    /// <summary><c>resources/read</c>, <c>resources/subscribe</c>, <c>resources/unsubscribe</c>; the name is the URI.</summary>
    Resource = 2,
    /// <summary><c>prompts/get</c>; the name is the prompt name.</summary>
    Prompt = 3,
    /// <summary>A method in no MCP method table (<c>x/custom</c>, <c>Tools/Call</c>): denied unless a rule names it in <c>methods</c>.</summary>
    Extension = 4,
}

/// <summary>The two MCP transport generations, whose method tables differ.</summary>
public enum McpGeneration
{
    /// <summary>2025-03-26 … 2025-11-25: <c>initialize</c>, <c>Mcp-Session-Id</c>, server-initiated requests answered by the client.</summary>
    Session = 0,
    /// <summary>2026-07-28: stateless, <c>server/discover</c>, <c>subscriptions/listen</c>; no handshake, no client responses.</summary>
    Stateless = 1,
}

/// <summary>
/// How a list response is filtered: which result array holds the items, which item property is
/// the name matched against the rules of <see cref="Kind"/>.
/// </summary>
public readonly record struct McpListFilter(McpCallKind Kind, string ResultProperty, string NameProperty);

/// <summary>
/// The MCP method tables, client to server, per generation (MCP spec 2025-11-25 "schema.ts" ClientRequest /
/// ClientNotification; 2026-07-28 as the ModelContextProtocol SDK 2.4.0 defines it: <c>server/discover</c> and
/// <c>subscriptions/listen</c>, SEP-2575, replace <c>initialize</c> and <c>resources/(un)subscribe</c>).
/// Names compare ordinally: JSON-RPC method names are case-sensitive, and <c>Tools/Call</c> is not
/// <c>tools/call</c> but an unknown method (an upstream that matched case-insensitively would otherwise run a
/// tool no rule was asked about). Server-to-client methods (<c>sampling/createMessage</c>, <c>roots/list</c>,
/// <c>elicitation/create</c>, <c>notifications/message</c> …) are not in these tables: an agent sending one is
/// sending an unknown method. The tasks methods that name one task (<c>tasks/get</c>, <c>tasks/result</c>,
/// <c>tasks/cancel</c> of 2025-11-25; <c>tasks/get</c>, <c>tasks/update</c>, <c>tasks/cancel</c> of the 2026-07-28
/// extension) are in: the edge binds each task id to the identity that created it and refuses any other
/// (<c>task-binding-mismatch</c>). <c>tasks/list</c> is left out on purpose: it would list every identity's tasks; a
/// rule may still allow it by name.
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

    public const string Initialize = "initialize";
    public const string Ping = "ping";
    public const string ServerDiscover = "server/discover";
    public const string SubscriptionsListen = "subscriptions/listen";
    public const string CompletionComplete = "completion/complete";
    public const string LoggingSetLevel = "logging/setLevel";
    public const string NotificationsInitialized = "notifications/initialized";
    public const string NotificationsCancelled = "notifications/cancelled";
    public const string NotificationsProgress = "notifications/progress";
    public const string NotificationsRootsListChanged = "notifications/roots/list_changed";
    public const string TasksGet = "tasks/get";
    public const string TasksResult = "tasks/result";
    public const string TasksCancel = "tasks/cancel";
    public const string TasksUpdate = "tasks/update";

    private static readonly FrozenSet<string> SessionRequests = FrozenSet.Create(StringComparer.Ordinal,
        Initialize, Ping, ToolsList, ToolsCall, ResourcesList, ResourceTemplatesList, ResourcesRead, ResourcesSubscribe,
        ResourcesUnsubscribe, PromptsList, PromptsGet, CompletionComplete, LoggingSetLevel, TasksGet, TasksResult, TasksCancel);

    private static readonly FrozenSet<string> StatelessRequests = FrozenSet.Create(StringComparer.Ordinal,
        ServerDiscover, SubscriptionsListen, Ping, ToolsList, ToolsCall, ResourcesList, ResourceTemplatesList, ResourcesRead,
        PromptsList, PromptsGet, CompletionComplete, LoggingSetLevel, TasksGet, TasksUpdate, TasksCancel);

    private static readonly FrozenSet<string> SessionNotifications = FrozenSet.Create(StringComparer.Ordinal,
        NotificationsInitialized, NotificationsCancelled, NotificationsProgress, NotificationsRootsListChanged);

    private static readonly FrozenSet<string> StatelessNotifications = FrozenSet.Create(StringComparer.Ordinal,
        NotificationsCancelled, NotificationsProgress);

    /// <summary>Every method name of every table: what "known" means to the policy evaluator.</summary>
    private static readonly FrozenSet<string> Known = FrozenSet.Create(StringComparer.Ordinal,
        [.. SessionRequests, .. StatelessRequests, .. SessionNotifications, .. StatelessNotifications]);

    /// <summary>The same names compared ignoring case: a rule may not name a case variant of a known method.</summary>
    private static readonly FrozenSet<string> KnownIgnoringCase = FrozenSet.Create(StringComparer.OrdinalIgnoreCase, [.. Known]);

    /// <summary>
    /// The method <see cref="Classify"/> reports as <see cref="McpCallKind.Protocol"/> for a client's JSON-RPC
    /// response (no method of its own): it answers a server-initiated request and names nothing.
    /// </summary>
    public const string ResponseMethod = "$response";

    /// <summary>The session generation's server-to-client event stream (HTTP GET on the endpoint), decided as a protocol method.</summary>
    public const string EventStreamMethod = "GET (sse-stream)";

    /// <summary>The session generation's explicit session end (HTTP DELETE on the endpoint), decided as a protocol method.</summary>
    public const string SessionEndMethod = "DELETE (session)";

    public static McpCallKind Classify(string method) => method switch
    {
        ToolsCall => McpCallKind.Tool,
        ResourcesRead or ResourcesSubscribe or ResourcesUnsubscribe => McpCallKind.Resource,
        PromptsGet => McpCallKind.Prompt,
        ResponseMethod or EventStreamMethod or SessionEndMethod => McpCallKind.Protocol,
        _ => Known.Contains(method) ? McpCallKind.Protocol : McpCallKind.Extension,
    };

    /// <summary>True when <paramref name="method"/> is a request a client may send in <paramref name="generation"/>.</summary>
    public static bool IsRequest(McpGeneration generation, string method) =>
        (generation == McpGeneration.Session ? SessionRequests : StatelessRequests).Contains(method);

    /// <summary>True when <paramref name="method"/> is a notification a client may send in <paramref name="generation"/>.</summary>
    public static bool IsNotification(McpGeneration generation, string method) =>
        (generation == McpGeneration.Session ? SessionNotifications : StatelessNotifications).Contains(method);

    /// <summary>True when a client may answer server-initiated requests with JSON-RPC responses (session generation only).</summary>
    public static bool AcceptsResponses(McpGeneration generation) => generation == McpGeneration.Session;

    /// <summary>
    /// True when <paramref name="method"/> matches a known method ignoring case: a rule's <c>methods</c> names
    /// extension methods only, and a case variant of a known one is exactly the differential to refuse.
    /// </summary>
    public static bool IsKnownIgnoringCase(string method) => KnownIgnoringCase.Contains(method);

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
