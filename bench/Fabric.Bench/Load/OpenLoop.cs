using System.Diagnostics;

namespace Fabric.Bench.Load;

/// <summary>
/// A fixed arrival rate regardless of how fast answers come (coordinated-omission-safe): request
/// <c>i</c> is due at <c>start + i / rate</c>, goes to agent <c>i mod N</c> (HTTP/2 multiplexes), and its
/// latency is measured from when it was <em>due</em>, not from when it was sent, so a stall shows up
/// in every request that should have been sent during it. A dedicated scheduler thread sleeps in
/// 1 ms steps (spinning would steal one of the two cores) and never releases a request early; the
/// resulting lag is part of every latency, the same for every target, and reported separately.
/// </summary>
internal static class OpenLoop
{
    /// <summary>Requests allowed in flight before the run is declared over capacity and stopped.</summary>
    private const int MaxInFlight = 20_000;

    public static async Task<LoadResult> RunAsync(LoadPlan plan, int rate, CpuMeter cpu, CancellationToken cancellationToken)
    {
        var total = (long)(rate * (plan.WarmUp + plan.Duration).TotalSeconds);
        var firstMeasured = (long)(rate * plan.WarmUp.TotalSeconds);
        var recorder = new LatencyRecorder((int)Math.Min(total, 4_000_000));
        var lag = new LatencyRecorder((int)Math.Min(total, 4_000_000));
        var run = new Run(plan, recorder, cancellationToken);
        var overloaded = false;
        TimeSpan cpuStart = default;
        long allocatedStart = 0;
        long windowStart = 0;

        var scheduler = new Thread(() =>
        {
            var interval = (double)Stopwatch.Frequency / rate;
            var start = Stopwatch.GetTimestamp();
            for (long i = 0; i < total && !cancellationToken.IsCancellationRequested; i++)
            {
                var due = start + (long)(i * interval);
                while (Stopwatch.GetTimestamp() < due)
                {
                    Thread.Sleep(1);
                }
                if (i == firstMeasured)
                {
                    cpuStart = cpu.Now();
                    allocatedStart = GC.GetTotalAllocatedBytes(precise: true);
                    windowStart = Stopwatch.GetTimestamp();
                }
                if (Volatile.Read(ref run.InFlight) >= MaxInFlight)
                {
                    overloaded = true;
                    break;
                }
                var measured = i >= firstMeasured;
                if (measured)
                {
                    lag.Record(Stopwatch.GetTimestamp() - due, Outcome.Ok);
                }
                Interlocked.Increment(ref run.InFlight);
                ThreadPool.UnsafeQueueUserWorkItem(static work => _ = work.Run.SendOneAsync(work.Agent, work.Due, work.Measured),
                    (Run: run, Agent: plan.Agents[(int)(i % plan.Agents.Count)], Due: due, Measured: measured), preferLocal: false);
            }
        })
        { IsBackground = true, Name = "open-loop scheduler", Priority = ThreadPriority.AboveNormal };
        scheduler.Start();
        await Task.Run(() => scheduler.Join(), CancellationToken.None);
        var windowEnd = Stopwatch.GetTimestamp();

        // Bounded drain: whatever is still in flight after 30 s is counted as lost.
        var drain = Stopwatch.StartNew();
        while (Volatile.Read(ref run.InFlight) > 0 && drain.Elapsed < TimeSpan.FromSeconds(30))
        {
            await Task.Delay(5, CancellationToken.None);
        }
        var cpuUsed = cpu.Now() - cpuStart;
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedStart;
        var elapsed = Stopwatch.GetElapsedTime(windowStart, windowEnd);

        var ok = recorder.Ok;
        var lagSummary = lag.Summarize();
        var note = $"open-loop {rate}/s; scheduler lag (part of every latency) p50 {lagSummary.P50Ms:0.000} ms p99 {lagSummary.P99Ms:0.000} ms"
            + (overloaded ? $"; OVER CAPACITY ({MaxInFlight} in flight), stopped early" : "");
        return new LoadResult(
            ok / Math.Max(elapsed.TotalSeconds, 1e-3),
            recorder.Summarize(),
            ok == 0 ? 0 : cpuUsed.TotalMilliseconds * 1000 / ok,
            Measurement.AllocatedPerRequest(allocated, ok),
            ok,
            recorder.Failed,
            note);
    }

    private sealed class Run(LoadPlan plan, LatencyRecorder recorder, CancellationToken cancellationToken)
    {
        public int InFlight;

        public async Task SendOneAsync(Agent agent, long due, bool measured)
        {
            Outcome outcome;
            try
            {
                plan.BeforeEach?.Invoke();
                outcome = await agent.SendAsync(plan.Request, plan.BaseUrl, plan.Version, cancellationToken);
            }
            catch (HttpRequestException)
            {
                outcome = Outcome.Exception;
            }
            catch (OperationCanceledException)
            {
                outcome = Outcome.Exception;
            }
            finally
            {
                Interlocked.Decrement(ref InFlight);
            }
            if (measured)
            {
                recorder.Record(Stopwatch.GetTimestamp() - due, outcome);
            }
        }
    }
}
