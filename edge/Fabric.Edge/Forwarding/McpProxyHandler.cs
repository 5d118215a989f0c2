using System.Buffers;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Security.Authentication;
using Fabric.Contracts.Audit;
using Fabric.Contracts.Hosting;
using Fabric.Contracts.Policy;
using Fabric.Contracts.Servers;
using Fabric.Edge.Audit;
using Fabric.Edge.Caching;
using Fabric.Edge.Hosting;
using Fabric.Edge.Identity;
using Fabric.Edge.Mcp;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using Yarp.ReverseProxy.Forwarder;

namespace Fabric.Edge.Forwarding;

/// <summary>
/// The edge's hot path for <c>/mcp/{server}</c>:
/// <code>
///  SPIFFE ID (handshake) ─► server ─► grant (cache │ grain) ─► session owner
///      ─► read message (bounded) ─► header/body check ─► decide ─► credential (cache │ lease grain)
///      ─► forward (YARP, splice) ─► stream back │ buffer + filter lists ─► audit (queued)
/// </code>
/// Every step that cannot complete denies: fail closed, with a stable reason code.
/// </summary>
internal sealed partial class McpProxyHandler(
    EdgeIdentity identity,
    EdgeCache cache,
    UpstreamInvokers invokers,
    IHttpForwarder forwarder,
    SplicingTransformer transformer,
    AuditShipper audit,
    EdgeTelemetry telemetry,
    IOptions<EdgeOptions> options,
    TimeProvider time,
    ILogger<McpProxyHandler> logger)
{
    // SSE streams may sit idle for a long time between events.
    private static readonly ForwarderRequestConfig RequestConfig = new() { ActivityTimeout = TimeSpan.FromMinutes(30) };

    public async Task HandleAsync(HttpContext context, string server)
    {
        var started = time.GetTimestamp();
        var workload = ClientIdentity.Get(context, identity, time);
        if (workload is null)
        {
            await Problems.WriteAsync(context, StatusCodes.Status403Forbidden, "Identity not admitted",
                "The client certificate is not a valid X.509-SVID under this fabric's trust bundle.");
            return;
        }

        using var activity = EdgeTelemetry.Source.HasListeners() ? EdgeTelemetry.Source.StartActivity(SpanName(context.Request.Method)) : null;
        var draft = new AuditDraft { Workload = workload.ToString(), Server = server, Method = context.Request.Method };
        // The 2025 transport's GET event stream stays open for the whole session: not a message in flight.
        var message = !HttpMethods.IsGet(context.Request.Method);
        if (message)
        {
            audit.Begin();
        }
        AuditRecord? record = null;
        try
        {
            await DecideAndForwardAsync(context, server, workload, draft);
        }
        finally
        {
            if (draft.Decided)
            {
                var latency = time.GetElapsedTime(started).TotalMilliseconds;
                // The message's span when tracing is on, else the request's own activity (ASP.NET Core starts one
                // while logging is enabled): either way the trace id the upstream sees in its traceparent.
                var traceId = (activity ?? Activity.Current)?.TraceId.ToString();
                record = draft.Build(options.Value.Name, time.GetUtcNow(), latency, traceId);
                if (telemetry.Decisions.Enabled || telemetry.Latency.Enabled)
                {
                    var tags = new TagList { { "decision", draft.Allowed ? "allow" : "deny" }, { "reason", draft.Reason }, { "server", server } };
                    telemetry.Decisions.Add(1, tags);
                    telemetry.Latency.Record(latency, tags);
                }
                activity?.SetTag("fabric.workload", draft.Workload);
                activity?.SetTag("fabric.server", server);
                activity?.SetTag("fabric.method", draft.Method);
                activity?.SetTag("fabric.name", draft.Name);
                activity?.SetTag("fabric.decision", draft.Allowed ? "allow" : "deny");
                activity?.SetTag("fabric.reason", draft.Reason);
            }
            if (message)
            {
                audit.Complete(record);
            }
            else if (record is not null)
            {
                audit.Enqueue(record);
            }
        }
    }

    private async Task DecideAndForwardAsync(HttpContext context, string server, SpiffeId workload, AuditDraft draft)
    {
        McpServerDefinition? definition;
        WorkloadGrant grant;
        try
        {
            // A name that cannot be a server's is unknown without asking the cluster.
            (definition, grant) = McpServerValidator.IsValidName(server)
                ? await cache.GetServerAndGrantAsync(server, workload)
                : (null, WorkloadGrant.None);
            if (definition is null)
            {
                draft.Decide(Decision.Deny(ReasonCodes.UnknownServer, 0));
                await Problems.WriteAsync(context, StatusCodes.Status404NotFound, "Unknown MCP server",
                    $"No MCP server named '{server}' is registered with the fabric.", ReasonCodes.UnknownServer);
                return;
            }
        }
        catch (Exception ex) when (ClusterCalls.IsClusterFault(ex))
        {
            LogClusterFault(logger, ex.GetType().Name, ex.Message);
            draft.Decide(Decision.Deny(ReasonCodes.PolicyUnavailable, 0));
            await Problems.WriteAsync(context, StatusCodes.Status503ServiceUnavailable, "Policy unavailable",
                "The fabric could not reach its policy; the call is denied. Retry shortly.", ReasonCodes.PolicyUnavailable);
            return;
        }

        // A workload with nothing allowed on this server never gets to speak to it at all.
        if (!grant.Enabled || !grant.AllowsServer)
        {
            var reason = grant.Enabled ? ReasonCodes.NoMatchingAllow : ReasonCodes.WorkloadDisabled;
            draft.Decide(Decision.Deny(reason, grant.Version));
            await Problems.WriteAsync(context, StatusCodes.Status403Forbidden, "Forbidden",
                $"'{workload}' may not call server '{server}'.", reason);
            return;
        }

        if (!await SessionIsOwnedAsync(context, server, workload, draft, grant))
        {
            return;
        }

        switch (context.Request.Method)
        {
            case "POST":
                await HandleMessageAsync(context, definition, workload, grant, draft);
                break;
            case "GET" or "DELETE":
                // The 2025 session transport's server-to-client SSE stream and session end: protocol
                // traffic, allowed because the workload may speak to this server at all.
                draft.Method = context.Request.Method == "GET" ? "GET (sse-stream)" : "DELETE (session)";
                draft.Decide(PolicyEvaluator.Decide(grant, new McpCall(draft.Method)));
                var (available, streamCredential) = await LeaseCredentialAsync(definition, LookUpCredential(definition, workload), grant, draft);
                if (!available)
                {
                    await Problems.WriteAsync(context, StatusCodes.Status503ServiceUnavailable, "Credential unavailable",
                        $"No credential could be leased for '{definition.Name}'; the call is denied.", ReasonCodes.CredentialUnavailable);
                    return;
                }
                await ForwardAsync(context, definition, workload, grant, streamCredential, null, draft);
                if (context.Request.Method == "DELETE" && draft.UpstreamStatus is >= 200 and < 300
                    && context.Request.Headers[McpHeaders.SessionId].ToString() is { Length: > 0 } ended)
                {
                    await cache.ForgetSessionAsync(server, ended);
                }
                break;
        }
    }

    private async Task<bool> SessionIsOwnedAsync(HttpContext context, string server, SpiffeId workload, AuditDraft draft, WorkloadGrant grant)
    {
        var sessionId = context.Request.Headers[McpHeaders.SessionId].ToString();
        if (sessionId.Length == 0)
        {
            return true;
        }
        string? owner;
        try
        {
            owner = await cache.GetSessionOwnerAsync(server, sessionId);
        }
        catch (Exception ex) when (ClusterCalls.IsClusterFault(ex))
        {
            draft.Decide(Decision.Deny(ReasonCodes.PolicyUnavailable, grant.Version));
            await Problems.WriteAsync(context, StatusCodes.Status503ServiceUnavailable, "Policy unavailable",
                "The fabric could not check the session's owner; the call is denied.", ReasonCodes.PolicyUnavailable);
            return false;
        }
        if (owner is null)
        {
            // Per the streamable HTTP transport, 404 tells the client to start a new session.
            draft.Decide(Decision.Deny(ReasonCodes.UnknownSession, grant.Version));
            await Problems.WriteAsync(context, StatusCodes.Status404NotFound, "Unknown session",
                "The fabric never saw this session id minted; start a new session.", ReasonCodes.UnknownSession);
            return false;
        }
        if (!string.Equals(owner, workload.ToString(), StringComparison.Ordinal))
        {
            draft.Decide(Decision.Deny(ReasonCodes.SessionBindingMismatch, grant.Version));
            await Problems.WriteAsync(context, StatusCodes.Status403Forbidden, "Session belongs to another workload",
                "This session id was minted for another identity.", ReasonCodes.SessionBindingMismatch);
            return false;
        }
        return true;
    }

    private async Task HandleMessageAsync(HttpContext context, McpServerDefinition definition, SpiffeId workload, WorkloadGrant grant, AuditDraft draft)
    {
        // Started before the message is read, so a cold lease lookup overlaps reading and deciding. Nothing
        // is spliced unless the message is allowed; the lease itself exists only for workloads with a
        // grant on this server (the lease grain checks that too).
        var credentialLookup = LookUpCredential(definition, workload);
        using var read = await McpMessageReader.ReadAsync(
            context.Request.Body, context.Request.ContentLength, options.Value.MaxMessageBytes, context.RequestAborted,
            renderArguments: grant.ConstrainsArguments);
        switch (read.Status)
        {
            case McpReadStatus.TooLarge:
                await Problems.WriteAsync(context, StatusCodes.Status413PayloadTooLarge, "Message too large",
                    $"An MCP message through this edge is at most {options.Value.MaxMessageBytes} bytes.");
                return;
            case McpReadStatus.Batch or McpReadStatus.Invalid:
                await JsonRpcErrors.WriteAsync(context.Response, StatusCodes.Status400BadRequest, read.RawId, read.ErrorCode,
                    read.ErrorMessage ?? "invalid JSON-RPC message", cancellationToken: context.RequestAborted);
                return;
        }

        var message = read.Message!;
        draft.Method = message.Method ?? McpMessage.ResponseMethod;
        draft.Name = message.Name;
        if (McpHeaders.CheckConsistency(context.Request.Headers, message) is { } mismatch)
        {
            // Refused before any decision: a header that disagrees with the body would let
            // header-routed middleboxes and the upstream see different calls.
            await JsonRpcErrors.WriteAsync(context.Response, StatusCodes.Status400BadRequest, message.RawId,
                JsonRpcErrors.HeaderMismatch, mismatch, cancellationToken: context.RequestAborted);
            return;
        }

        var decision = PolicyEvaluator.Decide(grant, message.ToCall());
        draft.Decide(decision);
        if (!decision.Allowed)
        {
            await DenyAsync(context, message, decision);
            return;
        }

        var (available, credential) = await LeaseCredentialAsync(definition, credentialLookup, grant, draft);
        if (!available)
        {
            await DenyAsync(context, message, Decision.Deny(ReasonCodes.CredentialUnavailable, grant.Version));
            return;
        }

        // The body was consumed to decide; forward exactly those bytes.
        if (!MemoryMarshal.TryGetArray(read.Body, out var segment))
        {
            throw new InvalidOperationException("the message buffer is not array-backed");
        }
        context.Request.Body = new MemoryStream(segment.Array!, segment.Offset, segment.Count, writable: false);
        var listRequest = message.Kind == McpMessageKind.Request && McpMethods.ListFilterFor(message.Method!) is not null;
        await ForwardAsync(context, definition, workload, grant, credential, listRequest ? message.RawId ?? "null" : null, draft);
    }

    /// <summary>
    /// The credential to splice for this call (none when the server has no binding). Not available →
    /// the call is denied with <c>credential-unavailable</c>: never forwarded without its credential.
    /// </summary>
    private async Task<(bool Available, Credential? Credential)> LeaseCredentialAsync(
        McpServerDefinition definition, Task<CredentialResult>? lookup, WorkloadGrant grant, AuditDraft draft)
    {
        if (lookup is null)
        {
            return (true, null);
        }
        var result = await lookup;
        if (result.Credential is not { } credential)
        {
            LogCredentialUnavailable(logger, definition.Name, result.Error);
            draft.Fail(ReasonCodes.CredentialUnavailable, grant.Version);
            return (false, null);
        }
        draft.LeaseId = credential.LeaseId;
        draft.CredentialSource = credential.Source;
        return (true, credential);
    }

    /// <summary>Starts looking up the credential this server splices (null when it has no binding); never faults.</summary>
    private Task<CredentialResult>? LookUpCredential(McpServerDefinition definition, SpiffeId workload) =>
        definition.Credential is { } binding
            ? cache.GetCredentialAsync(ICredentialLeaseGrain.KeyFor(definition.Name, binding.PerWorkload ? workload.ToString() : null))
            : null;

    private static Task DenyAsync(HttpContext context, McpMessage message, Decision decision) =>
        message.Kind == McpMessageKind.Request
            ? JsonRpcErrors.WriteDenialAsync(context.Response, StatusCodes.Status200OK, message.RawId, decision, context.RequestAborted)
            // Notifications and responses have no id to answer; refuse at the HTTP level instead.
            : Problems.WriteAsync(context, StatusCodes.Status403Forbidden, "Forbidden", "forbidden: " + decision.Reason, decision.Reason);

    /// <param name="listRequestId">Set for list requests: the response is buffered and filtered.</param>
    private async Task ForwardAsync(
        HttpContext context, McpServerDefinition definition, SpiffeId workload, WorkloadGrant grant,
        Credential? credential, string? listRequestId, AuditDraft draft)
    {
        var state = new ForwardState
        {
            Upstream = definition.Upstream,
            Server = definition,
            Workload = workload.ToString(),
            Credential = credential,
            BufferResponse = listRequestId is not null,
        };
        context.Features.Set(state);

        var originalBody = context.Features.Get<IHttpResponseBodyFeature>()!;
        using var buffer = listRequestId is null ? null : new BoundedBufferStream(options.Value.MaxListResponseBytes);
        if (buffer is not null)
        {
            context.Features.Set<IHttpResponseBodyFeature>(new StreamResponseBodyFeature(buffer));
        }
        ForwarderError error;
        try
        {
            error = await forwarder.SendAsync(context, definition.Upstream.GetLeftPart(UriPartial.Authority),
                invokers.For(definition), RequestConfig, transformer);
        }
        finally
        {
            context.Features.Set(originalBody);
        }
        draft.UpstreamStatus = state.UpstreamStatus;

        if (state.SessionRejected)
        {
            draft.Fail(ReasonCodes.SessionBindingMismatch, grant.Version);
            return;
        }
        if (error != ForwarderError.None)
        {
            if (context.RequestAborted.IsCancellationRequested || IsClientSide(error))
            {
                // The agent hung up or cancelled: nobody is left to answer, and the upstream is not at fault.
                draft.Abandon(ReasonCodes.ClientClosed);
                return;
            }
            var exception = context.Features.Get<IForwarderErrorFeature>()?.Exception;
            var reason = definition.Identity is not null && IsTlsFailure(exception)
                ? ReasonCodes.UpstreamIdentityMismatch
                : ReasonCodes.UpstreamUnavailable;
            draft.Fail(reason, grant.Version);
            LogUpstreamFailed(logger, definition.Name, error, reason, exception?.GetBaseException().Message);
            if (!context.Response.HasStarted)
            {
                context.Response.Clear();
                await Problems.WriteAsync(context, StatusCodes.Status502BadGateway, "Upstream refused",
                    reason == ReasonCodes.UpstreamIdentityMismatch
                        ? $"The upstream of '{definition.Name}' did not present the expected identity."
                        : $"The upstream of '{definition.Name}' could not be reached.",
                    reason);
            }
            return;
        }

        if (buffer is not null)
        {
            var filtered = new ArrayBufferWriter<byte>(Math.Max(256, (int)buffer.Length));
            ListResultFilter.Filter(buffer.WrittenSpan, context.Response.ContentType, listRequestId, (kind, name) => PolicyEvaluator.IsVisible(grant, kind, name), filtered);
            context.Response.ContentLength = filtered.WrittenCount;
            await context.Response.Body.WriteAsync(filtered.WrittenMemory, context.RequestAborted);
        }
    }

    /// <summary>Forwarding errors on the agent's side of the edge (YARP reports cancellation by the client's abort).</summary>
    private static bool IsClientSide(ForwarderError error) => error is
        ForwarderError.RequestCanceled or ForwarderError.RequestBodyCanceled or ForwarderError.RequestBodyClient
        or ForwarderError.ResponseBodyCanceled or ForwarderError.ResponseBodyClient
        or ForwarderError.UpgradeRequestCanceled or ForwarderError.UpgradeRequestClient
        or ForwarderError.UpgradeResponseCanceled or ForwarderError.UpgradeResponseClient;

    private static string SpanName(string method) => method switch
    {
        "POST" => "mcp POST",
        "GET" => "mcp GET",
        "DELETE" => "mcp DELETE",
        _ => "mcp " + method,
    };

    private static bool IsTlsFailure(Exception? exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is AuthenticationException)
            {
                return true;
            }
        }
        return false;
    }

    [LoggerMessage(EventId = 2301, Level = LogLevel.Warning, Message = "Cluster unreachable while deciding ({Error}: {Message}); denying")]
    private static partial void LogClusterFault(ILogger logger, string error, string message);

    [LoggerMessage(EventId = 2302, Level = LogLevel.Warning, Message = "No credential for server {Server}: {Error}; denying")]
    private static partial void LogCredentialUnavailable(ILogger logger, string server, string? error);

    [LoggerMessage(EventId = 2303, Level = LogLevel.Warning, Message = "Forwarding to {Server} failed ({Error}, {Reason}): {Detail}")]
    private static partial void LogUpstreamFailed(ILogger logger, string server, ForwarderError error, string reason, string? detail);
}
