using System.Runtime.InteropServices;
using Fabric.Contracts.Policy;
using Fabric.Edge.Audit;
using Fabric.Edge.Credentials;
using Fabric.Edge.Forwarding;
using Fabric.Edge.Identity;
using Fabric.Edge.Mcp;
using Fabric.Edge.Policy;
using Fabric.Edge.Routing;
using Fabric.Edge.Sessions;

namespace Fabric.Edge.Pipeline;

/// <summary>
/// The edge's request path for <c>/mcp/{server}</c>: one <see cref="McpExchange"/> through ordered steps, each in
/// the folder of its concept. Any step may refuse (through the one table in <see cref="Refusals"/>); only Policy
/// decides; nothing is forwarded that Policy did not allow; every request, refused or not, ends in one audit record.
/// <code>
///   :: 1 Identity     X.509-SVID of the handshake → SPIFFE ID; /fabric/ IDs are the fabric's own → 403;
///                     (ingress) a federated edge's handshake + its agent's JWT-SVID → the agent (401)
///   :: 2 Routing      server definition + grant (cache │ grains); the credential lookup starts
///   :: 3 Transport    POST │ GET │ DELETE (405); POST: application/json, no Content-Encoding (415)
///   :: 4 Sessions     Mcp-Session-Id bound to this workload (404 │ 403)
///   :: 5 Mcp          POST: one bounded JSON-RPC message (413 │ 400), headers agree with it (400)
///   :: 6 Policy       THE decision (server gate, method table, rules), the tool lock, the budgets (rate-limited)
///   :: 7 Credentials  the leased credential (503 │ -32003 credential-unavailable)
///   :: 8 Forwarding   YARP → upstream; Filters on the way back (lists, credential redaction)
///   :: 9 Audit        one record per exchange (finally)
/// </code>
/// </summary>
internal sealed class McpPipeline(
    ServerRouting routing,
    McpRequestReader reader,
    SessionOwnership sessions,
    CredentialSplice credentials,
    McpForwarder forwarder,
    ExchangeAudit audit,
    EdgeJoin join,
    IngressAdmission ingress,
    Fabric.Edge.Egress.CallAttribution attribution,
    ToolLocks toolLocks,
    Budgets budgets,
    ApprovalGate approvals,
    LiveExchanges live,
    TaskOwnership tasks,
    TimeProvider time)
{
    public async Task HandleAsync(HttpContext context, string server)
    {
        var exchange = new McpExchange(context, server, time);
        // :: 1 Identity (the authentication scheme turned the handshake's SVID into the principal)
        if (!await IdentifyAsync(exchange, join))
        {
            return;
        }

        using var scope = audit.Begin(exchange);
        if (ingress.Carries(exchange.Workload!))
        {
            // A federated fabric's edge carrying its agent's call in: from here on the exchange is the agent's.
            if (!await ingress.AdmitAsync(exchange))
            {
                return;
            }
        }
        else if (await RefusedAsReservedAsync(exchange))
        {
            return;
        }
        await RunAsync(exchange);
    }

    /// <summary>
    /// Step 1 of both legs (MCP calls, egress calls): the caller's SPIFFE ID from the principal. Without one (no
    /// X.509-SVID: the TLS layer refuses every other certificate; no valid JWT-SVID) it is answered here, unaudited:
    /// there is nobody to audit.
    /// </summary>
    public static async ValueTask<bool> IdentifyAsync(McpExchange exchange, EdgeJoin join)
    {
        var user = exchange.Context.User;
        exchange.Workload = SvidAuthenticationHandler.WorkloadOf(user);
        exchange.Bearer = SvidAuthenticationHandler.IsBearer(user);
        exchange.BundleSequence = exchange.Workload is { } caller ? join.SequenceOf(caller.TrustDomain) : null;
        if (exchange.Workload is null)
        {
            await SvidAuthenticationHandler.RefuseAsync(exchange.Context);
            return false;
        }
        return true;
    }

    /// <summary>Refuses (403, audited) a caller presenting one of the fabric's own <c>/fabric/</c> IDs.</summary>
    public static async ValueTask<bool> RefusedAsReservedAsync(McpExchange exchange)
    {
        if (!exchange.Workload!.IsReserved)
        {
            return false;
        }
        await Refusals.RefuseAsync(exchange, ReasonCodes.ReservedIdentity, $"'{exchange.Workload}' belongs to the fabric's own components; no agent or MCP server may present it.");
        return true;
    }

    private async Task RunAsync(McpExchange exchange)
    {
        // :: 2 Routing, :: 3 Transport, :: 4 Sessions
        if (!await routing.RouteAsync(exchange) || !await McpRequestReader.CheckTransportAsync(exchange) || !await sessions.CheckAsync(exchange))
        {
            return;
        }
        credentials.Begin(exchange);

        // :: 5 Mcp
        var isPost = HttpMethods.IsPost(exchange.Context.Request.Method);
        using var read = isPost ? await reader.ReadAsync(exchange) : null;
        if (isPost && read is null)
        {
            return;
        }

        // Tasks are their creator's, as sessions are.
        if (read is not null && !await tasks.CheckAsync(exchange, read.Body))
        {
            return;
        }

        // :: 6 Policy (with the server's tool lock for calls and lists)
        if (!await toolLocks.LoadAsync(exchange))
        {
            return;
        }
        // The arguments a tool's approved definition mirrors into Mcp-Param-* headers must say what the body says.
        if (exchange.Message is { } called && exchange.ToolLock?.ParamHeadersOf(called.Name ?? "") is { } declared
            && McpHeaders.CheckParamHeaders(exchange.Context.Request.Headers, called, declared) is { } mismatch)
        {
            await Refusals.RefuseAsync(exchange, ReasonCodes.HeaderMismatch, mismatch);
            return;
        }
        var (decision, serverLevel) = EdgePolicy.Decide(exchange);
        if (decision.Allowed && toolLocks.Deny(exchange) is { } held)
        {
            decision = held;
        }
        var body = read?.Body ?? default;
        if (decision.Reason == ReasonCodes.ApprovalRequired && read is not null && exchange.Message is { Kind: McpMessageKind.Request, Name: not null })
        {
            if (await approvals.ResolveAsync(exchange, decision, read.Body) is not { } resolved)
            {
                await Refusals.RefuseAsync(exchange, ReasonCodes.PolicyUnavailable, "The fabric could not read the call's approval; the call is denied. Retry shortly.");
                return;
            }
            decision = resolved;
            if (decision.Allowed)
            {
                body = ApprovalGate.WithoutRoundState(read.Body);
            }
        }
        if (decision.Allowed && EdgePolicy.ChargesOf(exchange) is { Count: > 0 } charges)
        {
            var (outcome, retryAfter) = await budgets.ChargeAsync(charges, exchange.Context.RequestAborted);
            if (outcome == ChargeOutcome.Unavailable)
            {
                await Refusals.RefuseAsync(exchange, ReasonCodes.PolicyUnavailable, "The fabric could not read the call's budget; the call is denied. Retry shortly.");
                return;
            }
            if (outcome == ChargeOutcome.RateLimited)
            {
                decision = decision with
                {
                    Allowed = false,
                    Reason = ReasonCodes.RateLimited,
                    RetryAfterMs = Math.Max(1, (long)Math.Ceiling(retryAfter.TotalMilliseconds)),
                };
            }
        }
        exchange.Decide(decision);
        if (decision is { Allowed: false, Reason: ReasonCodes.ApprovalRequired, ApprovalId: not null } && exchange.Generation == McpGeneration.Stateless)
        {
            // A 2026-07-28 client is told in its protocol: an input_required result naming the approval.
            await ApprovalGate.WriteInputRequiredAsync(exchange, decision, read!.Body);
            return;
        }
        if (!decision.Allowed)
        {
            await Refusals.WriteAsync(exchange, decision.Reason, decision.Reason switch
            {
                ReasonCodes.ToolDefinitionChanged => $"'{exchange.Message?.Name}' on '{exchange.ServerName}' is not its approved definition (changed, or new since the approval); an admin must approve it.",
                ReasonCodes.ApprovalRequired => $"This call of '{exchange.Message?.Name}' on '{exchange.ServerName}' waits for an administrator's approval ({decision.ApprovalId}).",
                ReasonCodes.ApprovalDenied => $"An administrator denied this call of '{exchange.Message?.Name}' on '{exchange.ServerName}' ({decision.ApprovalId}).",
                ReasonCodes.RateLimited => $"'{exchange.Workload}' has spent its budget for this call on '{exchange.ServerName}'; retry after {decision.RetryAfterMs} ms.",
                _ => $"'{exchange.Workload}' may not make this call on '{exchange.ServerName}'.",
            }, serverLevel: serverLevel);
            return;
        }

        // :: 7 Credentials
        if (!await credentials.LeaseAsync(exchange))
        {
            return;
        }

        // :: 8 Forwarding (+ Filters)
        if (read is not null)
        {
            // The body was consumed to decide; forward exactly those bytes.
            if (!MemoryMarshal.TryGetArray(body, out var segment))
            {
                throw new InvalidOperationException("the message buffer is not array-backed");
            }
            exchange.Context.Request.Body = new MemoryStream(segment.Array!, segment.Offset, segment.Count, writable: false);
            // An approved call's body loses the fabric's round state (ApprovalGate.WithoutRoundState): say its length.
            exchange.Context.Request.ContentLength = segment.Count;
            exchange.MessageBytes = body;
            exchange.ListFilter = exchange.Message!.Kind == McpMessageKind.Request ? McpMethods.ListFilterFor(exchange.Message.Method!) : null;
            exchange.TaskRequested = TaskOwnership.AsksForTask(exchange.Message, body);
        }
        // The trace the upstream sees (YARP propagates the current activity): outbound calls that continue it name this call.
        if (System.Diagnostics.Activity.Current is { } activity)
        {
            attribution.Remember(activity.TraceId, exchange.RecordId);
        }
        using (live.Track(exchange))
        {
            await forwarder.ForwardAsync(exchange);
        }
        await sessions.ForgetEndedAsync(exchange);
    }
}
