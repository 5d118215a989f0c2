using System.Buffers;
using Fabric.Contracts.Policy;
using Fabric.Contracts.Servers;
using Fabric.Edge.Credentials;
using Fabric.Edge.Forwarding;
using Fabric.Edge.Mcp;
using Fabric.Edge.Pipeline;

namespace Fabric.Edge.Filters;

/// <summary>
/// Step 8, on the way back: what of the upstream's answer may reach the agent. Streamed answers pass through a
/// <see cref="RedactingStream"/> (masked as they stream); buffered answers (lists, <c>onReflection: block</c>) are
/// checked whole here: the list filter first (an answer it cannot read is refused), then the credential mask.
/// </summary>
internal static class ResponseFilters
{
    /// <summary>The needles to scan the answer for: none when nothing was spliced.</summary>
    public static CredentialNeedles NeedlesOf(McpExchange exchange) =>
        exchange.Credential is { } credential && InjectOf(exchange.Server) is { } inject
            ? CredentialNeedleCache.For(credential, inject)
            : CredentialNeedles.Empty;

    private static InjectSpec? InjectOf(McpServerDefinition? server) =>
        server?.Credential?.Inject ?? (server?.AgentJwtAudience is null ? null : AgentJwts.Inject);

    /// <summary>Filters and masks a buffered answer, then writes it; returns the reason it was refused, if it was.</summary>
    public static async ValueTask<string?> WriteBufferedAsync(McpExchange exchange, BoundedBufferStream buffer, Fabric.Edge.Policy.ToolLocks? toolLocks = null)
    {
        var needles = exchange.Needles;
        var context = exchange.Context;
        ReadOnlyMemory<byte> answer;
        ArrayBufferWriter<byte>? filtered = null;
        if (exchange.ListFilter is not null)
        {
            filtered = new ArrayBufferWriter<byte>(Math.Max(256, (int)buffer.Length));
            // The grant the call was decided under: a bearer caller does not see what only mTLS callers may call.
            var grant = exchange.Bearer ? exchange.Grant.ForBearer() : exchange.Grant;
            var attested = grant.MatchesAnnotations ? exchange.ToolLock : null;
            Func<McpCallKind, string, bool> visible = (kind, name) =>
                PolicyEvaluator.IsVisible(grant, kind, name, kind == McpCallKind.Tool ? attested?.AttestedOf(name) : null);
            ListFilterStats stats;
            if (exchange.ToolLock is { Mode: not ToolLockMode.Off } view && toolLocks is not null)
            {
                // A locked server: items whose definition is not the approved one are held back too, and what it listed is recorded.
                exchange.Observed = new Fabric.Edge.Policy.ToolLockObservation
                {
                    RequestCursor = ListPaging.RequestCursorOf(exchange.MessageBytes.Span),
                    NextCursor = ListPaging.NextCursorOf(buffer.WrittenSpan),
                };
                stats = ListResultFilter.Filter(buffer.WrittenSpan, context.Response.ContentType, toolLocks.Filter(view, exchange.Observed, visible), filtered);
            }
            else
            {
                stats = ListResultFilter.Filter(buffer.WrittenSpan, context.Response.ContentType, visible, filtered);
            }
            if (stats.Refused)
            {
                return ReasonCodes.UpstreamProtocolError;
            }
            answer = filtered.WrittenMemory;
        }
        else
        {
            answer = buffer.WrittenBytes.ToArray();
        }

        if (!needles.IsEmpty)
        {
            // The filtered copy (or the buffer's copy) is ours to mask in place.
            var reflected = CredentialRedactor.MaskInPlace(needles, System.Runtime.InteropServices.MemoryMarshal.AsMemory(answer).Span);
            exchange.CredentialReflected += reflected;
            if (reflected > 0 && exchange.Server?.OnReflection == ReflectionAction.Block)
            {
                return ReasonCodes.CredentialReflected;
            }
        }
        context.Response.ContentLength = answer.Length;
        await context.Response.Body.WriteAsync(answer, context.RequestAborted);
        return null;
    }
}
