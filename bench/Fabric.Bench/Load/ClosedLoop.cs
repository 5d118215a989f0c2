using System.Diagnostics;

namespace Fabric.Bench.Load;

/// <summary>
/// Saturation: every agent keeps exactly one request in flight, back to back, through a warm-up and
/// then a measured window. Requests that complete inside the window count; latency is send → last byte.
/// </summary>
internal static class ClosedLoop
{
    /// <summary>Upper bound on requests per agent per run, so no loop can run away.</summary>
    private const long MaxRequestsPerAgent = 5_000_000;

    public static async Task<LoadResult> RunAsync(LoadPlan plan, CpuMeter cpu, CancellationToken cancellationToken)
    {
        var measurement = new Measurement();
        await RunAsync(plan, cpu, measurement, cancellationToken);
        return measurement.ToResult();
    }

    /// <summary>One warm-up and one measured window, added to <paramref name="measurement"/>.</summary>
    public static async Task RunAsync(LoadPlan plan, CpuMeter cpu, Measurement measurement, CancellationToken cancellationToken)
    {
        var recorder = measurement.Latencies;
        var measuring = 0;
        var stopping = 0;
        // Loops stop between requests, never by cancelling one in flight: a reset stream would show
        // up at the proxy as a failed forward and disturb the next scenario.
        var loops = plan.Agents.Select(agent => Task.Run(async () =>
        {
            for (long i = 0; i < MaxRequestsPerAgent && Volatile.Read(ref stopping) == 0; i++)
            {
                plan.BeforeEach?.Invoke();
                var started = Stopwatch.GetTimestamp();
                Outcome outcome;
                try
                {
                    outcome = await agent.SendAsync(plan.Request, plan.BaseUrl, plan.Version, cancellationToken);
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    return;
                }
                catch (HttpRequestException)
                {
                    outcome = Outcome.Exception;
                }
                if (Volatile.Read(ref measuring) == 1)
                {
                    recorder.Record(Stopwatch.GetTimestamp() - started, outcome);
                }
            }
        }, CancellationToken.None)).ToArray();

        await Task.Delay(plan.WarmUp, cancellationToken);
        var cpuStart = cpu.Now();
        var allocatedStart = GC.GetTotalAllocatedBytes(precise: true);
        var window = Stopwatch.StartNew();
        Volatile.Write(ref measuring, 1);
        await Task.Delay(plan.Duration, cancellationToken);
        Volatile.Write(ref measuring, 0);
        var elapsed = window.Elapsed;
        var cpuUsed = cpu.Now() - cpuStart;
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedStart;
        Volatile.Write(ref stopping, 1);
        await Task.WhenAll(loops).WaitAsync(TimeSpan.FromSeconds(30), cancellationToken);

        measurement.AddWindow(elapsed, cpuUsed, allocated);
    }
}
