using System.Diagnostics;
using Fabric.Bench.Fabric;
using Fabric.Bench.Load;
using Fabric.Contracts.Grains;

namespace Fabric.Bench.Scenarios;

/// <summary>
/// Memory per workload grain. N distinct SPIFFE IDs are driven through the decision path's cluster
/// step — <c>IWorkloadGrain.GetGrantAsync</c> through the edge's own Orleans client, exactly the call
/// the edge makes on a cache miss — which activates one workload grain each (state read from memory
/// storage, rules from the policy catalog). Bytes per workload = managed heap delta after a full,
/// compacting GC, divided by N (this process hosts the silo, so that delta is the grains' cost plus
/// the client's grain references). Then a second pass over the same N, now all active, measures
/// decision throughput and latency with them resident.
/// </summary>
internal sealed class ScaleProbe(FabricHost fabric, CpuMeter cpu)
{
    private const int Parallelism = 32;

    public async Task<(ScaleResult Scale, ScenarioResult Throughput)> RunAsync(int workloads, CancellationToken ct)
    {
        var client = fabric.EdgeServices.GetRequiredService<IClusterClient>();
        var ids = Enumerable.Range(0, workloads)
            .Select(i => $"spiffe://{FabricHost.TrustDomain}/{FabricRegistration.ScalePrefix}/w{i:D6}")
            .ToArray();

        var (heapBefore, workingSetBefore) = Measure();
        var activation = Stopwatch.StartNew();
        await DecideAllAsync(client, ids, null, ct);
        activation.Stop();
        var (heapAfter, workingSetAfter) = Measure();

        var recorder = new LatencyRecorder(workloads);
        var cpuStart = cpu.Now();
        var allocatedStart = GC.GetTotalAllocatedBytes(precise: true);
        var pass = Stopwatch.StartNew();
        await DecideAllAsync(client, ids, recorder, ct);
        pass.Stop();
        var cpuUsed = cpu.Now() - cpuStart;
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedStart;

        var scale = new ScaleResult(
            workloads,
            (double)(heapAfter - heapBefore) / workloads,
            (double)(workingSetAfter - workingSetBefore) / workloads,
            workloads / activation.Elapsed.TotalSeconds);
        var throughput = new ScenarioResult(
            $"grain decisions, {workloads} active workloads",
            new LoadResult(recorder.Ok / pass.Elapsed.TotalSeconds, recorder.Summarize(),
                recorder.Ok == 0 ? 0 : cpuUsed.TotalMilliseconds * 1000 / recorder.Ok,
                Measurement.AllocatedPerRequest(allocated, recorder.Ok), recorder.Ok, recorder.Failed,
                $"IWorkloadGrain.GetGrantAsync via the edge's cluster client, {Parallelism} in flight"));
        return (scale, throughput);
    }

    private static async Task DecideAllAsync(IClusterClient client, string[] ids, LatencyRecorder? recorder, CancellationToken ct)
    {
        await Parallel.ForEachAsync(ids, new ParallelOptions { MaxDegreeOfParallelism = Parallelism, CancellationToken = ct }, async (id, _) =>
        {
            var started = Stopwatch.GetTimestamp();
            var grant = await client.Workload(id).GetGrantAsync(FabricRegistration.Server);
            recorder?.Record(Stopwatch.GetTimestamp() - started, grant.AllowsServer ? Outcome.Ok : Outcome.RpcError);
        });
    }

    private static (long Heap, long WorkingSet) Measure()
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        using var self = Process.GetCurrentProcess();
        return (GC.GetTotalMemory(forceFullCollection: true), self.WorkingSet64);
    }
}

/// <summary>Bytes per active workload grain (managed heap, and working set for comparison) and the activation rate.</summary>
internal sealed record ScaleResult(int Workloads, double BytesPerWorkload, double WorkingSetBytesPerWorkload, double ActivationsPerSecond);
