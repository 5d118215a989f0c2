using System.Collections.Concurrent;
using System.Diagnostics;

namespace Fabric.Edge.Egress;

/// <summary>
/// Ties an MCP server's outbound call to the agent call that caused it (issue 11 §5) by W3C trace context: every agent
/// call this edge forwards is remembered under the trace id the upstream sees in its <c>traceparent</c>; an outbound
/// call whose <c>traceparent</c> carries that trace id (a server that propagates its trace context, as OpenTelemetry
/// instrumentation does) is recorded with that call's audit record id as its parent. Informational, as honest as the
/// server: a server can claim any trace id it has seen; exact attribution needs per-agent launched servers. Calls with
/// no known trace are counted as unattributed. Bounded: the most recent entries, at most <see cref="Window"/> old.
/// </summary>
internal sealed class CallAttribution(TimeProvider time)
{
    public static readonly TimeSpan Window = TimeSpan.FromMinutes(10);
    private const int MaxEntries = 100_000;

    private readonly ConcurrentDictionary<ActivityTraceId, (Guid RecordId, DateTimeOffset At)> _calls = new();
    private long _unattributed;
    // The entry count, kept here: ConcurrentDictionary.Count takes every lock, and Remember is on every forwarded call.
    private long _size;

    /// <summary>Outbound calls no agent call could be found for, since start.</summary>
    public long Unattributed => Interlocked.Read(ref _unattributed);

    public void Remember(ActivityTraceId traceId, Guid recordId)
    {
        var now = time.GetUtcNow();
        if (Interlocked.Read(ref _size) >= MaxEntries)
        {
            foreach (var (key, entry) in _calls)
            {
                if (now - entry.At > Window && _calls.TryRemove(key, out _))
                {
                    Interlocked.Decrement(ref _size);
                }
            }
            if (Interlocked.Read(ref _size) >= MaxEntries)
            {
                _calls.Clear();
                Interlocked.Exchange(ref _size, 0);
            }
        }
        if (_calls.TryAdd(traceId, (recordId, now)))
        {
            Interlocked.Increment(ref _size);
        }
        else
        {
            _calls[traceId] = (recordId, now);
        }
    }

    /// <summary>The audit record id of the agent call whose trace <paramref name="traceparent"/> continues, or null (counted).</summary>
    public Guid? Find(string? traceparent)
    {
        if (TryParseTraceId(traceparent, out var traceId) && _calls.TryGetValue(traceId, out var entry) && time.GetUtcNow() - entry.At <= Window)
        {
            return entry.RecordId;
        }
        Interlocked.Increment(ref _unattributed);
        return null;
    }

    /// <summary>The trace id of a W3C <c>traceparent</c> (version 00: <c>00-&lt;32 hex&gt;-&lt;16 hex&gt;-&lt;2 hex&gt;</c>, not all zeros).</summary>
    public static bool TryParseTraceId(string? traceparent, out ActivityTraceId traceId)
    {
        traceId = default;
        if (traceparent is not { Length: 55 } || !traceparent.StartsWith("00-", StringComparison.Ordinal) || traceparent[35] != '-' || traceparent[52] != '-')
        {
            return false;
        }
        var hex = traceparent.AsSpan(3, 32);
        foreach (var c in hex)
        {
            if (!char.IsAsciiHexDigitLower(c))
            {
                return false;
            }
        }
        if (hex.SequenceEqual("00000000000000000000000000000000"))
        {
            return false;
        }
        traceId = ActivityTraceId.CreateFromString(hex);
        return true;
    }
}
