using System.Diagnostics;

namespace Fabric.Edge.Egress;

/// <summary>
/// Ties an MCP server's outbound call to the agent call that caused it (issue 11 §5) by W3C trace context: every agent
/// call this edge forwards is remembered under the trace id the upstream sees in its <c>traceparent</c>; an outbound
/// call whose <c>traceparent</c> carries that trace id (a server that propagates its trace context, as OpenTelemetry
/// instrumentation does) is recorded with that call's audit record id as its parent. Informational, as honest as the
/// server: a server can claim any trace id it has seen; exact attribution needs per-agent launched servers. Calls with
/// no known trace are counted as unattributed. Bounded: <see cref="Capacity"/> recent entries, at most <see cref="Window"/> old.
/// </summary>
internal sealed class CallAttribution(TimeProvider time)
{
    public static readonly TimeSpan Window = TimeSpan.FromMinutes(10);
    /// <summary>Entries kept at most: sets of <see cref="Ways"/>, each set replacing its oldest entry.</summary>
    internal const int Capacity = Sets * Ways;
    private const int Sets = 1 << 15;
    private const int Ways = 4;
    private const int Stripes = 64;

    // A fixed table instead of a growing dictionary: Remember is on every forwarded call, and a dictionary of the last
    // hundred thousand calls allocated a node per call, promoted them all to the old generation and was cleared whole
    // when full. Here nothing is allocated per call, and an entry is only lost once four newer ones share its set.
    private readonly Entry[] _entries = new Entry[Capacity];
    private readonly Lock[] _stripes = [.. Enumerable.Range(0, Stripes).Select(_ => new Lock())];
    private long _unattributed;

    private readonly record struct Entry(ActivityTraceId TraceId, Guid RecordId, long AtTicks);

    /// <summary>Outbound calls no agent call could be found for, since start.</summary>
    public long Unattributed => Interlocked.Read(ref _unattributed);

    public void Remember(ActivityTraceId traceId, Guid recordId)
    {
        var set = SetOf(traceId);
        var now = time.GetUtcNow().UtcTicks;
        lock (_stripes[set & (Stripes - 1)])
        {
            var entries = _entries.AsSpan(set * Ways, Ways);
            var replace = 0;
            for (var i = 0; i < Ways; i++)
            {
                if (entries[i].AtTicks == 0 || entries[i].TraceId == traceId)
                {
                    replace = i;
                    break;
                }
                if (entries[i].AtTicks < entries[replace].AtTicks)
                {
                    replace = i;
                }
            }
            entries[replace] = new Entry(traceId, recordId, now);
        }
    }

    /// <summary>The audit record id of the agent call whose trace <paramref name="traceparent"/> continues, or null (counted).</summary>
    public Guid? Find(string? traceparent)
    {
        if (TryParseTraceId(traceparent, out var traceId))
        {
            var set = SetOf(traceId);
            var now = time.GetUtcNow().UtcTicks;
            lock (_stripes[set & (Stripes - 1)])
            {
                foreach (var entry in _entries.AsSpan(set * Ways, Ways))
                {
                    if (entry.AtTicks != 0 && entry.TraceId == traceId && now - entry.AtTicks <= Window.Ticks)
                    {
                        return entry.RecordId;
                    }
                }
            }
        }
        Interlocked.Increment(ref _unattributed);
        return null;
    }

    private static int SetOf(ActivityTraceId traceId) => traceId.GetHashCode() & (Sets - 1);

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
