using System.Diagnostics;
using System.Globalization;
using Fabric.Bench.Baselines;
using Fabric.Bench.Fabric;
using Fabric.Bench.Load;

namespace Fabric.Bench.Scenarios;

/// <summary>
/// <c>--pinned</c> (issue 9 §3): each proxy under test in a process of its own, pinned to core 1 with <c>taskset</c>;
/// this process (load generator, upstream, silo) pinned to core 0. The rows are the headline's (warm 1 KiB
/// tools/call, HTTP/2, 32 agents) in interleaved rounds; a proxy row's CPU column is that proxy's process alone, read
/// from /proc, so its cost per request needs no subtraction and "requests/s per proxy core" is 10⁶ / that number.
/// nginx is not part of it (it is not installed on the machines this was built on).
/// </summary>
internal static class PinnedRun
{
    public const string Direct = "pinned direct h2 1KiB c32";
    public const string Yarp = "pinned yarp h2 1KiB c32";
    public const string Fabric = "pinned fabric h2 1KiB c32 warm";
    private const int ProxyCore = 1;

    public static async Task<(IReadOnlyList<ScenarioResult> Results, IReadOnlyList<string> Notes)> RunAsync(BenchOptions options, FabricHost fabric,
        IReadOnlyList<Agent> agents, Uri upstream, Svid yarpSvid, CpuMeter self, CancellationToken ct)
    {
        if (Environment.ProcessorCount < 2)
        {
            throw new InvalidOperationException("--pinned needs two cores: one for the proxy, one for everything else");
        }
        if (!await PinnedProcess.PinSelfAsync(0))
        {
            throw new InvalidOperationException("--pinned needs taskset (util-linux) to pin processes to cores");
        }
        var notes = new List<string>();
        var directory = Path.Combine(fabric.DataDirectory, "pinned");
        Directory.CreateDirectory(directory);

        var yarpPort = FreePort.Next();
        var yarpFiles = Path.Combine(directory, "yarp");
        YarpPassthrough.WriteFiles(yarpFiles, yarpSvid, fabric.Pki);
        using var yarp = PinnedProcess.Start(ProxyCore, "dotnet",
            [typeof(PinnedRun).Assembly.Location, "--serve-yarp", upstream.ToString(), yarpFiles, yarpPort.ToString(CultureInfo.InvariantCulture)],
            Path.Combine(directory, "yarp.log"));

        // The real edge host, as the AppHost runs it: it joins this run's silo through the local join file.
        var edgePort = FreePort.Next();
        using var edge = PinnedProcess.Start(ProxyCore, "dotnet",
            [Path.Combine(AppContext.BaseDirectory, "Fabric.Edge.dll"), .. fabric.EdgeArguments("pinned", edgePort), "--Logging:LogLevel:Default=Warning"],
            Path.Combine(directory, "edge.log"));

        var yarpUrl = new Uri($"https://localhost:{yarpPort}");
        var edgeUrl = new Uri($"https://localhost:{edgePort}");
        await ReadyAsync("yarp", yarp, yarpUrl, Targets.PlainPath, agents[0], ct);
        await ReadyAsync("edge", edge, edgeUrl, Targets.EdgePath, agents[0], ct);
        notes.Add($"pinned: this process (load generator, upstream, silo) {await PinnedProcess.AffinityOf(Environment.ProcessId)}; "
            + $"YARP {await PinnedProcess.AffinityOf(yarp.Pid)}; edge {await PinnedProcess.AffinityOf(edge.Pid)}");
        Console.Error.WriteLine("  " + notes[^1]);

        var call = BenchRequest.ToolsCall(Targets.PlainPath, 1024);
        var rows = new (string Name, Uri BaseUrl, BenchRequest Request, CpuMeter Cpu)[]
        {
            (Direct, upstream, call, self),
            (Yarp, yarpUrl, call, CpuMeter.Of(yarp.Pid)),
            (Fabric, edgeUrl, BenchRequest.ToolsCall(Targets.EdgePath, 1024), CpuMeter.Of(edge.Pid)),
        };

        // The children's JIT cannot be watched from here: a fixed warm-up over every row, long enough for tiered
        // compilation to finish on one core (in-process runs show it takes tens of seconds on this machine).
        var warmUp = options.Quick ? TimeSpan.FromSeconds(30) : TimeSpan.FromSeconds(60);
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < warmUp)
        {
            foreach (var row in rows)
            {
                await ClosedLoop.RunAsync(new LoadPlan([.. agents], row.BaseUrl, Targets.Http2, row.Request, TimeSpan.Zero, TimeSpan.FromSeconds(1)), row.Cpu, ct);
            }
        }
        notes.Add($"pinned warm-up: {clock.Elapsed.TotalSeconds:0} s over every row before measuring");

        var measurements = rows.Select(_ => new Measurement()).ToArray();
        // Per-request CPU of one proxy moves ±15 % from run to run here: the pinned rows are measured 4× as long as the
        // in-process headline, in twice the rounds, and each round's edge/YARP ratio is kept to show the spread.
        var (rounds, duration) = (2 * options.HeadlineRounds, 4 * options.Duration);
        var slice = duration / rounds;
        var ratios = new List<double>();
        for (var round = 0; round < rounds; round++)
        {
            var perRequest = new double[rows.Length];
            for (var i = 0; i < rows.Length; i++)
            {
                GC.Collect();
                var (cpuBefore, okBefore) = (measurements[i].Cpu, measurements[i].Latencies.Ok);
                var plan = new LoadPlan([.. agents], rows[i].BaseUrl, Targets.Http2, rows[i].Request, TimeSpan.FromMilliseconds(150), slice);
                await ClosedLoop.RunAsync(plan, rows[i].Cpu, measurements[i], ct);
                var ok = measurements[i].Latencies.Ok - okBefore;
                perRequest[i] = ok == 0 ? double.NaN : (measurements[i].Cpu - cpuBefore).TotalMicroseconds / ok;
            }
            ratios.Add(perRequest[2] / perRequest[1]);
        }
        ratios.Sort();
        notes.Add(string.Create(CultureInfo.InvariantCulture,
            $"pinned, round by round: the edge's own CPU per request {ratios[ratios.Count / 2]:0.00}× YARP's (median of {rounds} rounds; lowest {ratios[0]:0.00}×, highest {ratios[^1]:0.00}×)"));
        if (yarp.HasExited || edge.HasExited)
        {
            throw new InvalidOperationException($"a pinned proxy exited during the run; see {yarp.Log} and {edge.Log}");
        }

        var note = $"{rounds} interleaved rounds of {slice.TotalSeconds:0.00} s";
        var results = new List<ScenarioResult>();
        for (var i = 0; i < rows.Length; i++)
        {
            var result = measurements[i].ToResult(note);
            // This process's allocations say nothing about another process's.
            results.Add(new ScenarioResult(rows[i].Name, i == 0 ? result : result with { AllocatedBytesPerRequest = null }));
            Console.Error.WriteLine($"  {rows[i].Name,-36} {result.Rps,9:0} rps  p50 {result.Latency.P50Ms,7:0.000}  p99 {result.Latency.P99Ms,7:0.000} ms  cpu {result.CpuMsPer1000,5:0} ms/1k");
        }
        notes.AddRange(Findings(results));
        return (results, notes);
    }

    /// <summary>What the rows say, as ratios of this run (issue 9 §3's targets and the figure agentgateway publishes).</summary>
    internal static IEnumerable<string> Findings(IReadOnlyList<ScenarioResult> results)
    {
        var direct = results.Single(r => r.Name == Direct).Load;
        var yarp = results.Single(r => r.Name == Yarp).Load;
        var fabric = results.Single(r => r.Name == Fabric).Load;
        string F(double value, string format = "0.00") => value.ToString(format, CultureInfo.InvariantCulture);
        foreach (var (name, load) in new[] { ("YARP", yarp), ("edge", fabric) })
        {
            yield return $"{name}: its own CPU {F(load.CpuMsPer1000, "0")} µs per request, so {F(1_000_000 / load.CpuMsPer1000, "0")} req/s per proxy core; "
                + $"its core was {F(100 * load.Rps * load.CpuMsPer1000 / 1_000_000, "0")}% busy at {F(load.Rps, "0")} req/s";
        }
        yield return $"pinned ratios: Fabric/YARP throughput {F(fabric.Rps / yarp.Rps)}× (target ≥ 0.95), Fabric/direct {F(fabric.Rps / direct.Rps)}×, "
            + $"YARP/direct {F(yarp.Rps / direct.Rps)}× (agentgateway publishes 0.37–0.48× direct on 2 vCPU); "
            + $"the edge's own CPU per request {F(fabric.CpuMsPer1000 / yarp.CpuMsPer1000)}× YARP's (target ≤ 1.25); "
            + $"per proxy core, the edge serves {F(yarp.CpuMsPer1000 / fabric.CpuMsPer1000)}× YARP's requests. "
            + "The direct row's CPU column is this process (load generator and upstream, core 0).";
    }

    private static async Task ReadyAsync(string name, PinnedProcess process, Uri baseUrl, string path, Agent agent, CancellationToken ct)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"the pinned {name} exited at start; see {process.Log}");
            }
            try
            {
                var (status, body) = await agent.SendForTextAsync(BenchRequest.ToolsCall(path, 1024), baseUrl, Targets.Http2, ct);
                if (status == 200 && body.Contains("\"result\"", StringComparison.Ordinal))
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // not listening yet
            }
            if (deadline.Elapsed > TimeSpan.FromSeconds(60))
            {
                throw new InvalidOperationException($"the pinned {name} did not answer within 60 s; see {process.Log}");
            }
            await Task.Delay(250, ct); // polling a child process's listener: there is no event to await
        }
    }
}
