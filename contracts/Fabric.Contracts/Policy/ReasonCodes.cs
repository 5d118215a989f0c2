namespace Fabric.Contracts.Policy;

/// <summary>
/// The stable reason codes every decision carries. Operators search logs and audit for these
/// strings, so they never change; add new ones, never rename. The README lists them.
/// </summary>
public static class ReasonCodes
{
    public const string Allowed = "allowed";
    public const string NoMatchingAllow = "no-matching-allow";
    public const string ExplicitDeny = "explicit-deny";
    public const string ArgumentConstraint = "argument-constraint";
    public const string WorkloadDisabled = "workload-disabled";
    public const string UnknownServer = "unknown-server";
    public const string PolicyUnavailable = "policy-unavailable";
    public const string CredentialUnavailable = "credential-unavailable";
    public const string UpstreamIdentityMismatch = "upstream-identity-mismatch";
    /// <summary>A session id minted by an upstream for another workload.</summary>
    public const string SessionBindingMismatch = "session-binding-mismatch";
    /// <summary>A session id the fabric never saw an upstream mint.</summary>
    public const string UnknownSession = "unknown-session";
    /// <summary>The upstream could not be reached or failed at the transport level.</summary>
    public const string UpstreamUnavailable = "upstream-unavailable";
    /// <summary>An allowed call the agent abandoned (disconnected or cancelled) before its answer was complete.</summary>
    public const string ClientClosed = "client-closed";
    /// <summary>A JSON-RPC method in no method table of the message's protocol version, and named by no rule.</summary>
    public const string UnknownMethod = "unknown-method";
    /// <summary>A client certificate for a <c>/fabric/</c> ID (the fabric's own components) presented as an agent.</summary>
    public const string ReservedIdentity = "reserved-identity";
    /// <summary>An upstream answer the edge cannot check (a list answer that is neither JSON nor SSE, or does not parse; a compressed answer).</summary>
    public const string UpstreamProtocolError = "upstream-protocol-error";
    /// <summary>An upstream answer the edge must buffer (lists, blocked reflection) grew past its limit.</summary>
    public const string UpstreamResponseTooLarge = "upstream-response-too-large";
    /// <summary>The upstream echoed the spliced credential and the server's <c>onReflection</c> is <c>block</c>.</summary>
    public const string CredentialReflected = "credential-reflected";
    /// <summary>The request body exceeds the edge's message limit (413).</summary>
    public const string MessageTooLarge = "message-too-large";
    /// <summary>The body is not one valid JSON-RPC message: invalid JSON or UTF-8, a batch, a malformed request (400).</summary>
    public const string InvalidMessage = "invalid-message";
    /// <summary><c>Mcp-Method</c>, <c>Mcp-Name</c> or <c>MCP-Protocol-Version</c> disagree with the body (400, -32020).</summary>
    public const string HeaderMismatch = "header-mismatch";
    /// <summary>A request body that is not <c>application/json</c>, or has a <c>Content-Encoding</c> (415).</summary>
    public const string UnsupportedMediaType = "unsupported-media-type";
    /// <summary>An HTTP method the MCP transport does not define on the endpoint (405).</summary>
    public const string MethodNotAllowed = "method-not-allowed";
    /// <summary>
    /// A bearer JWT-SVID that does not validate (401): an agent's own token, or the one a federated fabric's edge
    /// carries for its agent into an ingress edge (missing, wrong audience, expired, foreign key, another domain's agent).
    /// </summary>
    public const string InvalidJwtSvid = "invalid-jwt-svid";
    /// <summary>An MCP server's outbound call that no egress rule allows (default deny), or whose path is not canonical.</summary>
    public const string EgressNotAllowed = "egress-not-allowed";
    /// <summary>An outbound call to an egress target the fabric does not know (404), or a proxied host no target names.</summary>
    public const string UnknownEgressTarget = "unknown-egress-target";
    /// <summary>A launched (stdio) server that could not be started, died, broke the protocol, or is in its restart backoff (502).</summary>
    public const string LaunchFailed = "launch-failed";
    /// <summary>A launched server whose command this edge does not permit (<c>Fabric:Edge:Launch:AllowedCommands</c>) (502).</summary>
    public const string LaunchNotPermitted = "launch-not-permitted";
    /// <summary>A tool (prompt, resource template) whose definition is not the approved one: changed, or new since the approval (403).</summary>
    public const string ToolDefinitionChanged = "tool-definition-changed";

    /// <summary>A tool call over a rule's budget (<c>limit</c>) in the current window; <c>data.retryAfterMs</c> says when it ends (429).</summary>
    public const string RateLimited = "rate-limited";

    /// <summary>A tool call a rule allows only with an admin's approval (<c>when.approval</c>), not (yet) approved; <c>data.approvalId</c> names the request (403).</summary>
    public const string ApprovalRequired = "approval-required";
    /// <summary>A tool call whose approval request an admin denied (until the request expires) (403).</summary>
    public const string ApprovalDenied = "approval-denied";
    /// <summary>A live exchange (an open SSE answer or event stream, a call in flight) cut because its access was revoked while it ran.</summary>
    public const string Revoked = "revoked";
    /// <summary>A <c>tasks/*</c> request naming a task another identity created, or one the fabric never saw created (403).</summary>
    public const string TaskBindingMismatch = "task-binding-mismatch";

    public static readonly IReadOnlyList<string> All =
    [
        Allowed, NoMatchingAllow, ExplicitDeny, ArgumentConstraint, WorkloadDisabled, UnknownServer,
        PolicyUnavailable, CredentialUnavailable, UpstreamIdentityMismatch, SessionBindingMismatch, UnknownSession,
        UpstreamUnavailable, ClientClosed, UnknownMethod, ReservedIdentity, UpstreamProtocolError, UpstreamResponseTooLarge,
        CredentialReflected, MessageTooLarge, InvalidMessage, HeaderMismatch, UnsupportedMediaType, MethodNotAllowed,
        InvalidJwtSvid, EgressNotAllowed, UnknownEgressTarget, LaunchFailed, LaunchNotPermitted, ToolDefinitionChanged,
        RateLimited, ApprovalRequired, ApprovalDenied, Revoked, TaskBindingMismatch,
    ];
}
