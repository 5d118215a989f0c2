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

    public void AddWindow(TimeSpan elapsed, TimeSpan cpu, long allocatedBytes)
    {
        Elapsed += elapsed;
        Cpu += cpu;
        AllocatedBytes += allocatedBytes;
    }

    public LoadResult ToResult(string? note = null)
    {
        var ok = Latencies.Ok;
        return new LoadResult(
            Elapsed > TimeSpan.Zero ? ok / Elapsed.TotalSeconds : 0,
            Latencies.Summarize(),
            ok == 0 ? 0 : Cpu.TotalMilliseconds * 1000 / ok,
            ok == 0 ? 0 : (double)AllocatedBytes / ok,
            ok,
            Latencies.Failed,
            note);
    }
}
