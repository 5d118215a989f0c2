using Fabric.Contracts.Policy;

namespace Fabric.Edge.Mcp;

/// <summary>The three JSON-RPC 2.0 message shapes MCP allows on the wire (MCP spec, "Base Protocol: Messages").</summary>
internal enum McpMessageKind
{
    /// <summary><c>method</c> and <c>id</c>: expects a response.</summary>
    Request,
    /// <summary><c>method</c>, no <c>id</c>: fire and forget (the edge answers 202 or forwards).</summary>
    Notification,
    /// <summary>No <c>method</c>, <c>result</c> or <c>error</c>: a client's answer to a server request (2025-x sessions only).</summary>
    Response,
}

/// <summary>
/// What the edge read from one JSON-RPC message: just enough to decide, echo the id and audit.
/// Everything is copied out of the request buffer, so a message outlives its <see cref="McpReadResult"/>.
/// </summary>
internal sealed class McpMessage
{
    /// <summary>
    /// The method <see cref="ToCall"/> reports for a <see cref="McpMessageKind.Response"/>, which has none.
    /// <see cref="McpMethods.Classify"/> puts it with the protocol methods, as it must: a response answers a
    /// server-initiated request (sampling, elicitation, roots) and names no tool, resource or prompt.
    /// </summary>
    public const string ResponseMethod = "$response";

    public McpMessage(
        McpMessageKind kind,
        string? rawId,
        string? method,
        string? name,
        IReadOnlyDictionary<string, string>? arguments,
        string? metaProtocolVersion)
    {
        Kind = kind;
        RawId = rawId;
        Method = method;
        Name = name;
        Arguments = arguments;
        MetaProtocolVersion = metaProtocolVersion;
    }

    public McpMessageKind Kind { get; }

    /// <summary>
    /// The <c>id</c> exactly as it appeared in the body (<c>"abc"</c> with its quotes and escapes, or
    /// <c>42</c>), so an error the edge writes echoes the very token the client sent (JSON-RPC 2.0 §5:
    /// the response id "MUST be the same as the value of the id member in the Request Object").
    /// Null for notifications and for an error response whose id was null.
    /// </summary>
    public string? RawId { get; }

    /// <summary>The JSON-RPC method; null only for <see cref="McpMessageKind.Response"/>.</summary>
    public string? Method { get; }

    /// <summary>
    /// What the decision is about: <c>params.name</c> for <c>tools/call</c> and <c>prompts/get</c>,
    /// <c>params.uri</c> for <c>resources/read|subscribe|unsubscribe</c>; null for every other method.
    /// </summary>
    public string? Name { get; }

    /// <summary>Top-level <c>params.arguments</c> of <c>tools/call</c> / <c>prompts/get</c>, rendered as strings.</summary>
    public IReadOnlyDictionary<string, string>? Arguments { get; }

    /// <summary>
    /// <c>params._meta["io.modelcontextprotocol/protocolVersion"]</c> when the body carries it (2026-07-28
    /// and later put the version on every request; the <c>MCP-Protocol-Version</c> header must match it).
    /// </summary>
    public string? MetaProtocolVersion { get; }

    public bool IsRequestOrNotification => Kind is McpMessageKind.Request or McpMessageKind.Notification;

    /// <summary>The message as the policy evaluator sees it.</summary>
    public McpCall ToCall() => new(Method ?? ResponseMethod, Name, Arguments);
}
