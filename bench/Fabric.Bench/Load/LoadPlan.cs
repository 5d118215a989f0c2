namespace Fabric.Bench.Load;

/// <summary>What to send, where, by whom, for how long. <see cref="BeforeEach"/> runs before every send (cold decisions).</summary>
internal sealed record LoadPlan(
    IReadOnlyList<Agent> Agents,
    Uri BaseUrl,
    Version Version,
    BenchRequest Request,
    TimeSpan WarmUp,
    TimeSpan Duration,
    Action? BeforeEach = null);

/// <summary>
/// One measured window. <see cref="CpuMsPer1000"/> is process CPU (all parties in this process, plus nginx) per 1000
/// successes; <see cref="AllocatedBytesPerRequest"/> is this process's managed allocations per success (a proxy's own
/// share is its row minus the direct row).
/// </summary>
internal sealed record LoadResult(double Rps, LatencySummary Latency, double CpuMsPer1000, double? AllocatedBytesPerRequest, long Ok, long Failed, string? Note = null);
