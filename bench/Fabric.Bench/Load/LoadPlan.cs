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

/// <summary>One measured window. <see cref="CpuMsPer1000"/> is process CPU (all parties in this process, plus nginx) per 1000 successes.</summary>
internal sealed record LoadResult(double Rps, LatencySummary Latency, double CpuMsPer1000, long Ok, long Failed, string? Note = null);
