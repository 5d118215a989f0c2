using System.Diagnostics;
using Fabric.Edge.Egress;

namespace Fabric.Edge.Tests.Egress;

/// <summary>Issue 11 §5: an outbound call is tied to the agent call whose trace it continues, within the window, from a bounded table.</summary>
public sealed class CallAttributionTests
{
    private readonly ManualClock _clock = new();

    [Fact]
    public void An_outbound_call_finds_the_agent_call_of_its_trace_and_the_latest_one_when_a_trace_is_remembered_again()
    {
        var attribution = new CallAttribution(_clock);
        var (trace, first, second) = (ActivityTraceId.CreateRandom(), Guid.NewGuid(), Guid.NewGuid());

        attribution.Remember(trace, first);
        Assert.Equal(first, attribution.Find(Traceparent(trace)));
        attribution.Remember(trace, second);

        Assert.Equal(second, attribution.Find(Traceparent(trace)));
        Assert.Equal(0, attribution.Unattributed);
    }

    [Fact]
    public void Past_the_window_unknown_traces_and_malformed_traceparents_are_unattributed_and_counted()
    {
        var attribution = new CallAttribution(_clock);
        var trace = ActivityTraceId.CreateRandom();
        attribution.Remember(trace, Guid.NewGuid());

        _clock.Advance(CallAttribution.Window + TimeSpan.FromTicks(1));

        Assert.Null(attribution.Find(Traceparent(trace)));
        Assert.Null(attribution.Find(Traceparent(ActivityTraceId.CreateRandom())));
        Assert.Null(attribution.Find("00-" + new string('0', 32) + "-0000000000000001-01"));
        Assert.Null(attribution.Find(Traceparent(trace).ToUpperInvariant()));
        Assert.Null(attribution.Find(null));
        Assert.Equal(5, attribution.Unattributed);
    }

    [Fact]
    public void The_table_is_bounded_and_keeps_the_recent_calls()
    {
        var attribution = new CallAttribution(_clock);
        var calls = Enumerable.Range(0, 2 * CallAttribution.Capacity).Select(_ => (Trace: ActivityTraceId.CreateRandom(), Record: Guid.NewGuid())).ToList();
        foreach (var (trace, record) in calls)
        {
            _clock.Advance(TimeSpan.FromTicks(1));
            attribution.Remember(trace, record);
        }

        // The last thousand all found (a set holds four; losing one needs four newer calls in its set of 32 768).
        Assert.All(calls[^1000..], call => Assert.Equal(call.Record, attribution.Find(Traceparent(call.Trace))));
        // At most Capacity remembered: of all 2 × Capacity calls, at least half are forgotten.
        var found = calls.Count(call => attribution.Find(Traceparent(call.Trace)) == call.Record);
        Assert.InRange(found, 1000, CallAttribution.Capacity);
    }

    private static string Traceparent(ActivityTraceId trace) => $"00-{trace.ToHexString()}-{ActivitySpanId.CreateRandom().ToHexString()}-01";

    private sealed class ManualClock : TimeProvider
    {
        private DateTimeOffset _now = new(2026, 12, 4, 12, 0, 0, TimeSpan.Zero);
        public override DateTimeOffset GetUtcNow() => _now;
        public void Advance(TimeSpan by) => _now += by;
    }
}
