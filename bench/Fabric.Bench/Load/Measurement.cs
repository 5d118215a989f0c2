namespace Fabric.Bench.Load;

/// <summary>
/// Accumulates one scenario over one or more measured windows (the headline rows are measured in
/// interleaved rounds, so a burst of outside load hits every target alike): successes, failures,
/// latencies, wall time and CPU.
/// </summary>
internal sealed class Measurement(int capacity = 4_000_000)
{
    public LatencyRecorder Latencies { get; } = new(capacity);
    public TimeSpan Elapsed { get; private set; }
    public TimeSpan Cpu { get; private set; }
    public long AllocatedBytes { get; private set; }

    /// <summary>
    /// False once a window's process-wide allocation count went backwards: GC.GetTotalAllocatedBytes is not
    /// monotonic when threads exit mid-window (seen here on thread-pool-heavy rows), so the row reports no
    /// allocation figure rather than a wrong one.
    /// </summary>
    public bool AllocationsKnown { get; private set; } = true;

    public void AddWindow(TimeSpan elapsed, TimeSpan cpu, long allocatedBytes)
    {
        Elapsed += elapsed;
        Cpu += cpu;
        AllocatedBytes += allocatedBytes;
        AllocationsKnown &= allocatedBytes >= 0;
    }

    /// <summary>Managed bytes per request over a window, or null when unknown (no request, or a count that went backwards).</summary>
    public static double? AllocatedPerRequest(long allocatedBytes, long requests) =>
        requests == 0 || allocatedBytes < 0 ? null : (double)allocatedBytes / requests;

    public LoadResult ToResult(string? note = null)
    {
        var ok = Latencies.Ok;
        return new LoadResult(
            Elapsed > TimeSpan.Zero ? ok / Elapsed.TotalSeconds : 0,
            Latencies.Summarize(),
            ok == 0 ? 0 : Cpu.TotalMilliseconds * 1000 / ok,
            AllocationsKnown ? AllocatedPerRequest(AllocatedBytes, ok) : null,
            ok,
            Latencies.Failed,
            note);
    }
}
