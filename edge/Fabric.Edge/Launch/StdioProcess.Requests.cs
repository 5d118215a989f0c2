using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Fabric.Contracts.Policy;

namespace Fabric.Edge.Launch;

/// <summary>
/// Agents' messages multiplexed onto the one process: each request under an id of the edge's own (so no agent can
/// answer or cancel another's), each agent's notifications translated to those ids, the handshake's answer shared, and
/// the agent call the process is serving known (for the attribution of its outbound calls).
/// </summary>
internal sealed partial class StdioProcess
{
    /// <summary>
    /// The result of an agent's <c>initialize</c> (session generation): the process's own handshake result, at the
    /// version the agent asked for when the edge speaks it (older revisions' messages are a subset), else the process's.
    /// </summary>
    public byte[] InitializeResultFor(string? requestedVersion)
    {
        var result = JsonNode.Parse(_initializeResult ?? throw new InvalidOperationException("not a session-generation process"))!.AsObject();
        var own = result["protocolVersion"]!.GetValue<string>();
        if (requestedVersion is not null && SessionVersions.Contains(requestedVersion) && string.CompareOrdinal(requestedVersion, own) < 0)
        {
            result["protocolVersion"] = requestedVersion;
        }
        return Encoding.UTF8.GetBytes(result.ToJsonString());
    }

    /// <summary>
    /// Sends an agent's request (<paramref name="message"/>, its id token at <paramref name="id"/>) under an id of the
    /// edge's and returns the process's answer line, its id still the edge's (the caller puts the agent's back).
    /// Cancelling (the agent hung up) tells the process with <c>notifications/cancelled</c>.
    /// </summary>
    public async Task<byte[]> RequestAsync(ReadOnlyMemory<byte> message, Range id, CancellationToken cancellationToken, string? agent = null, string? rawId = null)
    {
        var bridged = Interlocked.Increment(ref _nextId);
        var pending = new TaskCompletionSource<byte[]>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[bridged] = pending;
        if (agent is not null && rawId is not null)
        {
            _agentIds[(agent, rawId)] = bridged;
        }
        try
        {
            if (HasExited)
            {
                throw new LaunchException(ReasonCodes.LaunchFailed, $"'{Server.Name}' has exited");
            }
            await WriteLineAsync(JsonRpcLines.WithId(message.Span, id, Encoding.ASCII.GetBytes(bridged.ToString(CultureInfo.InvariantCulture))), cancellationToken);
            using var registration = cancellationToken.Register(() =>
            {
                if (_pending.TryRemove(bridged, out var abandoned))
                {
                    abandoned.TrySetCanceled(cancellationToken);
                    _ = CancelAsync(bridged);
                }
            });
            return await pending.Task;
        }
        finally
        {
            _pending.TryRemove(bridged, out _);
            if (agent is not null && rawId is not null)
            {
                _agentIds.TryRemove((agent, rawId), out _);
            }
        }
    }

    /// <summary>An agent's notification; a <c>notifications/cancelled</c> is translated to the edge's id of that agent's request (or dropped).</summary>
    public async Task NotifyAsync(ReadOnlyMemory<byte> message, string method, string agent, CancellationToken cancellationToken)
    {
        if (method == "notifications/cancelled")
        {
            if (JsonRpcLines.RequestIdOf(message.Span) is not { } rawId || !_agentIds.TryGetValue((agent, rawId), out var bridged))
            {
                return; // not one of this agent's requests in flight: nothing of anybody else's is cancelled
            }
            await CancelAsync(bridged);
            return;
        }
        await WriteLineAsync(JsonRpcLines.AsLine(message.Span), cancellationToken);
    }

    /// <summary>Marks the start of an agent call on this process; dispose the result when it ends.</summary>
    public CallScope BeginCall(Guid recordId)
    {
        Interlocked.Increment(ref _inFlight);
        lock (_callLock)
        {
            _currentCall = recordId;
        }
        Touch();
        return new CallScope(this);
    }

    internal readonly struct CallScope(StdioProcess process) : IDisposable
    {
        public void Dispose()
        {
            process.Touch();
            Interlocked.Decrement(ref process._inFlight);
        }
    }

    private void Touch() => Interlocked.Exchange(ref _lastUsedTicks, _time.GetUtcNow().UtcTicks);
}
