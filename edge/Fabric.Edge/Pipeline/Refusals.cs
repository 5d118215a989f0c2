using System.Collections.Frozen;
using Fabric.Contracts.Policy;
using Fabric.Edge.Mcp;

namespace Fabric.Edge.Pipeline;

/// <summary>How a refusal is put on the wire.</summary>
internal enum RefusalShape
{
    /// <summary>RFC 9457 problem JSON with a <c>reason</c> member (transport-level refusals).</summary>
    Problem,
    /// <summary>A JSON-RPC error with the code the table names and <c>data.reason</c> (the message itself is at fault).</summary>
    JsonRpc,
    /// <summary>
    /// A policy denial: JSON-RPC <c>-32003</c> with HTTP 200 for a request (the agent's SDK surfaces it as the
    /// call's error); for a notification, a response or a transport operation there is no id to answer, so the
    /// table's status as problem JSON.
    /// </summary>
    Denial,
}

/// <summary>One row of the refusal table.</summary>
internal sealed record Refusal(int Status, string Title, RefusalShape Shape, int JsonRpcCode = 0);

/// <summary>
/// THE refusal table, keyed by reason code: every way the edge says no, with its HTTP status, title and wire
/// shape. The README's reason-code table lists the same rows. A refusal caused by the upstream's answer is a 502
/// whatever the row says (the agent did nothing wrong: <c>session-binding-mismatch</c> is 403 when the agent
/// presents another workload's session, 502 when an upstream mints one).
/// </summary>
internal static class Refusals
{
    private static readonly FrozenDictionary<string, Refusal> Table = new Dictionary<string, Refusal>
    {
        [ReasonCodes.ReservedIdentity] = new(StatusCodes.Status403Forbidden, "Identity reserved", RefusalShape.Problem),
        [ReasonCodes.InvalidJwtSvid] = new(StatusCodes.Status401Unauthorized, "JWT-SVID not admitted", RefusalShape.Problem),
        [ReasonCodes.UnknownServer] = new(StatusCodes.Status404NotFound, "Unknown MCP server", RefusalShape.Problem),
        [ReasonCodes.UnknownEgressTarget] = new(StatusCodes.Status404NotFound, "Unknown egress target", RefusalShape.Problem),
        [ReasonCodes.EgressNotAllowed] = new(StatusCodes.Status403Forbidden, "Egress not allowed", RefusalShape.Denial),
        [ReasonCodes.MethodNotAllowed] = new(StatusCodes.Status405MethodNotAllowed, "Method not allowed", RefusalShape.Problem),
        [ReasonCodes.UnsupportedMediaType] = new(StatusCodes.Status415UnsupportedMediaType, "Unsupported media type", RefusalShape.Problem),
        [ReasonCodes.MessageTooLarge] = new(StatusCodes.Status413PayloadTooLarge, "Message too large", RefusalShape.Problem),
        [ReasonCodes.InvalidMessage] = new(StatusCodes.Status400BadRequest, "Invalid JSON-RPC message", RefusalShape.JsonRpc, JsonRpcErrors.InvalidRequest),
        [ReasonCodes.HeaderMismatch] = new(StatusCodes.Status400BadRequest, "Header mismatch", RefusalShape.JsonRpc, JsonRpcErrors.HeaderMismatch),
        [ReasonCodes.UnknownSession] = new(StatusCodes.Status404NotFound, "Unknown session", RefusalShape.Problem),
        [ReasonCodes.SessionBindingMismatch] = new(StatusCodes.Status403Forbidden, "Session belongs to another workload", RefusalShape.Problem),
        [ReasonCodes.PolicyUnavailable] = new(StatusCodes.Status503ServiceUnavailable, "Policy unavailable", RefusalShape.Problem),
        [ReasonCodes.WorkloadDisabled] = new(StatusCodes.Status403Forbidden, "Forbidden", RefusalShape.Denial),
        [ReasonCodes.NoMatchingAllow] = new(StatusCodes.Status403Forbidden, "Forbidden", RefusalShape.Denial),
        [ReasonCodes.ExplicitDeny] = new(StatusCodes.Status403Forbidden, "Forbidden", RefusalShape.Denial),
        [ReasonCodes.ArgumentConstraint] = new(StatusCodes.Status403Forbidden, "Forbidden", RefusalShape.Denial),
        [ReasonCodes.UnknownMethod] = new(StatusCodes.Status403Forbidden, "Unknown method", RefusalShape.Denial),
        [ReasonCodes.CredentialUnavailable] = new(StatusCodes.Status503ServiceUnavailable, "Credential unavailable", RefusalShape.Denial),
        [ReasonCodes.CredentialReflected] = new(StatusCodes.Status502BadGateway, "Credential reflected", RefusalShape.Denial),
        [ReasonCodes.UpstreamIdentityMismatch] = new(StatusCodes.Status502BadGateway, "Upstream refused", RefusalShape.Problem),
        [ReasonCodes.UpstreamUnavailable] = new(StatusCodes.Status502BadGateway, "Upstream unavailable", RefusalShape.Problem),
        [ReasonCodes.UpstreamProtocolError] = new(StatusCodes.Status502BadGateway, "Upstream protocol error", RefusalShape.Problem),
        [ReasonCodes.UpstreamResponseTooLarge] = new(StatusCodes.Status502BadGateway, "Upstream response too large", RefusalShape.Problem),
        [ReasonCodes.ApprovalRequired] = new(StatusCodes.Status403Forbidden, "Approval required", RefusalShape.Denial),
        [ReasonCodes.ApprovalDenied] = new(StatusCodes.Status403Forbidden, "Approval denied", RefusalShape.Denial),
        [ReasonCodes.TaskBindingMismatch] = new(StatusCodes.Status403Forbidden, "Task belongs to another identity", RefusalShape.Problem),
        [ReasonCodes.Revoked] = new(StatusCodes.Status403Forbidden, "Access revoked", RefusalShape.Problem),
        [ReasonCodes.RateLimited] = new(StatusCodes.Status429TooManyRequests, "Too many calls", RefusalShape.Denial),
        [ReasonCodes.ToolDefinitionChanged] = new(StatusCodes.Status403Forbidden, "Tool definition changed", RefusalShape.Denial),
        [ReasonCodes.LaunchFailed] = new(StatusCodes.Status502BadGateway, "Launched server unavailable", RefusalShape.Problem),
        [ReasonCodes.LaunchNotPermitted] = new(StatusCodes.Status502BadGateway, "Launch not permitted on this edge", RefusalShape.Problem),
    }.ToFrozenDictionary(StringComparer.Ordinal);

    /// <summary>Every reason code the edge can refuse with (the README table is checked against it).</summary>
    public static IEnumerable<string> Reasons => Table.Keys;

    public static Refusal For(string reason) =>
        Table.TryGetValue(reason, out var refusal) ? refusal : new(StatusCodes.Status403Forbidden, "Forbidden", RefusalShape.Problem);

    /// <summary>Records <paramref name="reason"/> as the exchange's outcome (<see cref="McpExchange.Refuse"/>) and answers with it.</summary>
    public static Task RefuseAsync(McpExchange exchange, string reason, string detail, bool fromUpstream = false,
        bool serverLevel = false, int? jsonRpcCode = null, Decision? decision = null)
    {
        exchange.Refuse(reason);
        return WriteAsync(exchange, reason, detail, fromUpstream, serverLevel, jsonRpcCode, decision);
    }

    /// <summary>
    /// Answers the agent: the row of <paramref name="reason"/>, in its shape. <paramref name="serverLevel"/> marks
    /// a denial of the workload's access to the whole server (answered at the HTTP level even for a request).
    /// Writes nothing once the response has started (the agent gets a cut stream; the audit keeps the reason).
    /// </summary>
    public static async Task WriteAsync(McpExchange exchange, string reason, string detail, bool fromUpstream = false,
        bool serverLevel = false, int? jsonRpcCode = null, Decision? decision = null)
    {
        var context = exchange.Context;
        if (context.Response.HasStarted || context.RequestAborted.IsCancellationRequested)
        {
            return;
        }
        context.Response.Clear();
        var row = For(reason);
        var status = fromUpstream ? StatusCodes.Status502BadGateway : row.Status;
        var message = exchange.Message;
        switch (row.Shape)
        {
            case RefusalShape.Denial when !serverLevel && message?.Kind == McpMessageKind.Request:
                // The policy's own denial names its policy and rule; a refusal after an allow is a denial of its own.
                decision ??= exchange.Decision is { Allowed: false } denied && denied.Reason == reason ? denied : Decision.Deny(reason, exchange.Grant.Version);
                await JsonRpcErrors.WriteDenialAsync(context.Response, StatusCodes.Status200OK, message.RawId, decision, context.RequestAborted);
                return;
            case RefusalShape.JsonRpc:
                await JsonRpcErrors.WriteAsync(context.Response, status, message?.RawId ?? exchange.RawId, jsonRpcCode ?? row.JsonRpcCode,
                    detail, reason, context.RequestAborted);
                return;
            default:
                if (reason == ReasonCodes.MethodNotAllowed)
                {
                    context.Response.Headers.Allow = "POST, GET, DELETE";
                }
                await Results.Problem(detail: detail, statusCode: status, title: row.Title,
                    extensions: new Dictionary<string, object?> { ["reason"] = reason }).ExecuteAsync(context);
                return;
        }
    }
}
