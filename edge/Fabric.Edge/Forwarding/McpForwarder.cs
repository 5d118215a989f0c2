using System.Security.Authentication;
using Fabric.Contracts.Policy;
using Fabric.Contracts.Servers;
using Fabric.Edge.Filters;
using Fabric.Edge.Hosting;
using Fabric.Edge.Pipeline;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using Yarp.ReverseProxy.Forwarder;

namespace Fabric.Edge.Forwarding;

/// <summary>
/// Step 7: forwards an allowed request with YARP's <see cref="IHttpForwarder"/> (mTLS to a pinned SPIFFE ID, or Web
/// PKI) and brings the answer back through the response filters: streamed through a <see cref="RedactingStream"/>
/// when a credential was spliced, buffered (bounded) when it must be seen whole (lists; <c>onReflection: block</c>).
/// Forwarding errors are classified once: the agent's side (client-closed, still an allow), the upstream's
/// identity, the upstream unreachable.
/// </summary>
internal sealed partial class McpForwarder(
    UpstreamInvokers invokers, IHttpForwarder forwarder, SplicingTransformer transformer, Fabric.Edge.Launch.StdioBridge stdio, Fabric.Edge.Policy.ToolLocks toolLocks,
    Fabric.Edge.Sessions.TaskOwnership tasks,
    IOptions<EdgeOptions> options, ILogger<McpForwarder> logger)
{
    // SSE streams may sit idle for a long time between events.
    private static readonly ForwarderRequestConfig RequestConfig = new() { ActivityTimeout = TimeSpan.FromMinutes(30) };

    public async Task ForwardAsync(McpExchange exchange)
    {
        var context = exchange.Context;
        var server = exchange.Server!;
        var needles = exchange.Needles = ResponseFilters.NeedlesOf(exchange);
        // A blocked reflection can only be refused before the agent saw a byte: the answer is buffered whole. The
        // GET event stream never ends, so it is masked instead (and audited as reflected).
        exchange.BufferResponse = exchange.ListFilter is not null || exchange.TaskRequested
            || (!needles.IsEmpty && server.OnReflection == ReflectionAction.Block && exchange.Message is not null);
        context.Features.Set(exchange);

        var original = context.Features.Get<IHttpResponseBodyFeature>()!;
        using var buffer = exchange.BufferResponse ? new BoundedBufferStream(options.Value.MaxListResponseBytes) : null;
        var redacting = buffer is null && !needles.IsEmpty ? new RedactingStream(original.Stream, needles) : null;
        Stream? sink = (Stream?)buffer ?? redacting;
        if (buffer is null && !exchange.IsEgress && server.ToolLock != ToolLockMode.Off)
        {
            // A locked server's own word that a list changed (issue 12 §1), on the way to the agent.
            sink = new ListChangedScanner(sink ?? original.Stream, list => toolLocks.Signal(server.Name, list));
        }
        if (sink is not null)
        {
            context.Features.Set<IHttpResponseBodyFeature>(new StreamResponseBodyFeature(sink, original));
        }
        ForwarderError error = ForwarderError.None;
        (string Reason, string Detail)? launchRefusal = null;
        try
        {
            if (server.IsLaunched)
            {
                // A local server the edge runs: over its stdio instead of HTTP, into the same filters.
                launchRefusal = await stdio.SendAsync(exchange, exchange.MessageBytes);
            }
            else
            {
                error = await forwarder.SendAsync(context, server.Upstream.GetLeftPart(UriPartial.Authority), invokers.For(server), RequestConfig, transformer);
            }
            if (redacting is not null && error == ForwarderError.None && exchange.UpstreamRefusal is null && launchRefusal is null)
            {
                await redacting.CompleteAsync(context.RequestAborted);
            }
        }
        finally
        {
            context.Features.Set(original);
            if (redacting is not null)
            {
                // Completed above on success; otherwise the held-back tail is dropped, never written after a failure.
                redacting.Abandon();
                await redacting.DisposeAsync();
            }
        }
        exchange.CredentialReflected += redacting?.Redactions ?? 0;

        if (launchRefusal is { } launch)
        {
            LogLaunchFailed(logger, server.Name, launch.Reason, launch.Detail);
            await Refusals.RefuseAsync(exchange, launch.Reason, launch.Detail);
            return;
        }

        if (exchange.UpstreamRefusal is { } refusal)
        {
            await RefuseAsync(exchange, refusal, refusal == ReasonCodes.SessionBindingMismatch
                ? "The upstream minted a session id the fabric had bound to another identity."
                : $"The upstream of '{server.Name}' answered in a form the edge cannot check (compressed).");
            return;
        }
        if (buffer is { Exceeded: true })
        {
            await RefuseAsync(exchange, ReasonCodes.UpstreamResponseTooLarge,
                $"The upstream's answer exceeds the {options.Value.MaxListResponseBytes} bytes the edge buffers to check it.");
            return;
        }
        if (error != ForwarderError.None)
        {
            await FailedAsync(exchange, error);
            return;
        }
        if (buffer is not null && exchange.TaskRequested && !await BindTaskAsync(exchange, buffer))
        {
            return;
        }
        if (buffer is not null && await ResponseFilters.WriteBufferedAsync(exchange, buffer, toolLocks) is { } refused)
        {
            await RefuseAsync(exchange, refused, refused == ReasonCodes.CredentialReflected
                ? $"The upstream of '{server.Name}' returned the credential the fabric spliced; the answer is withheld."
                : $"The upstream of '{server.Name}' answered a list in a form the edge cannot filter.");
            return;
        }
        // What a locked server listed goes to its lock (trust on first use, drift), after the agent has its answer.
        await toolLocks.ReportAsync(exchange);
        if (exchange.CredentialReflected > 0)
        {
            LogReflected(logger, server.Name, exchange.CredentialReflected);
            if (server.OnReflection == ReflectionAction.Block)
            {
                // Only the never-ending GET stream gets here: masked, and audited as what it was.
                exchange.Refuse(ReasonCodes.CredentialReflected);
            }
        }
    }

    private async Task FailedAsync(McpExchange exchange, ForwarderError error)
    {
        var context = exchange.Context;
        if (context.RequestAborted.IsCancellationRequested || IsClientSide(error))
        {
            // The agent hung up or cancelled: nobody is left to answer, and the upstream is not at fault.
            exchange.Abandon(ReasonCodes.ClientClosed);
            return;
        }
        var exception = context.Features.Get<IForwarderErrorFeature>()?.Exception;
        var reason = exchange.Server!.Identity is not null && IsTlsFailure(exception)
            ? ReasonCodes.UpstreamIdentityMismatch
            : ReasonCodes.UpstreamUnavailable;
        LogUpstreamFailed(logger, exchange.Server.Name, error, reason, exception?.GetBaseException().Message);
        await RefuseAsync(exchange, reason, reason == ReasonCodes.UpstreamIdentityMismatch
            ? $"The upstream of '{exchange.Server.Name}' did not present the expected identity."
            : $"The upstream of '{exchange.Server.Name}' could not be reached.");
    }

    /// <summary>Binds a created task's id to the caller; false when the answer was refused instead (written here).</summary>
    private async Task<bool> BindTaskAsync(McpExchange exchange, BoundedBufferStream buffer)
    {
        bool bound;
        try
        {
            bound = await tasks.BindAsync(exchange, buffer.WrittenSpan);
        }
        catch (Exception ex) when (Fabric.Hosting.ClusterCalls.IsClusterFault(ex))
        {
            await Refusals.RefuseAsync(exchange, ReasonCodes.PolicyUnavailable, "The fabric could not bind the task to its creator; its answer is withheld.");
            return false;
        }
        if (!bound)
        {
            await RefuseAsync(exchange, ReasonCodes.TaskBindingMismatch, "The upstream created a task id the fabric had bound to another identity.");
        }
        return bound;
    }

    private static Task RefuseAsync(McpExchange exchange, string reason, string detail)
    {
        exchange.Refuse(reason);
        return Refusals.WriteAsync(exchange, reason, detail, fromUpstream: true);
    }

    /// <summary>Forwarding errors on the agent's side of the edge (YARP reports cancellation by the client's abort).</summary>
    private static bool IsClientSide(ForwarderError error) => error is
        ForwarderError.RequestCanceled or ForwarderError.RequestBodyCanceled or ForwarderError.RequestBodyClient
        or ForwarderError.ResponseBodyCanceled or ForwarderError.ResponseBodyClient
        or ForwarderError.UpgradeRequestCanceled or ForwarderError.UpgradeRequestClient
        or ForwarderError.UpgradeResponseCanceled or ForwarderError.UpgradeResponseClient;

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

    [LoggerMessage(EventId = 2303, Level = LogLevel.Warning, Message = "Forwarding to {Server} failed ({Error}, {Reason}): {Detail}")]
    private static partial void LogUpstreamFailed(ILogger logger, string server, ForwarderError error, string reason, string? detail);

    [LoggerMessage(EventId = 2305, Level = LogLevel.Warning, Message = "Launched server {Server} could not answer ({Reason}): {Detail}")]
    private static partial void LogLaunchFailed(ILogger logger, string server, string reason, string detail);

    [LoggerMessage(EventId = 2304, Level = LogLevel.Warning, Message = "The upstream of {Server} reflected the spliced credential {Count} time(s); masked")]
    private static partial void LogReflected(ILogger logger, string server, int count);
}
