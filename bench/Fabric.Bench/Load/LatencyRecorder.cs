using System.Diagnostics;

namespace Fabric.Bench.Load;

/// <summary>
/// Every latency of a window, in stopwatch ticks, in a preallocated array (bounded: samples beyond
/// <see cref="Capacity"/> are counted but not kept). Percentiles by sorting once at the end: exact,
/// and cheap enough at these counts.
/// </summary>
internal sealed class LatencyRecorder(int capacity)
{
    private readonly long[] _ticks = new long[capacity];
    private int _count;
    private long _ok;
    private long _failed;

    public int Capacity => _ticks.Length;
    public long Ok => Interlocked.Read(ref _ok);
    public long Failed => Interlocked.Read(ref _failed);

    public void Record(long ticks, Outcome outcome)
    {
        if (outcome != Outcome.Ok)
        {
            Interlocked.Increment(ref _failed);
            return;
        }
        Interlocked.Increment(ref _ok);
        var slot = Interlocked.Increment(ref _count) - 1;
        if (slot < _ticks.Length)
        {
            _ticks[slot] = ticks;
        }
    }

    public LatencySummary Summarize()
    {
        var count = Math.Min(Volatile.Read(ref _count), _ticks.Length);
        if (count == 0)
        {
            return new LatencySummary(0, 0, 0, 0);
        }
        var sorted = _ticks.AsSpan(0, count);
        sorted.Sort();
        return new LatencySummary(Ms(At(sorted, 0.50)), Ms(At(sorted, 0.90)), Ms(At(sorted, 0.99)), Ms(sorted[^1]));
    }

    private static long At(Span<long> sorted, double quantile) => sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(quantile * sorted.Length) - 1)];

    private static double Ms(long ticks) => ticks * 1000.0 / Stopwatch.Frequency;
}

internal readonly record struct LatencySummary(double P50Ms, double P90Ms, double P99Ms, double MaxMs);
