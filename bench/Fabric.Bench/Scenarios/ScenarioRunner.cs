using System.Globalization;
using System.Diagnostics;
using Fabric.Edge.Audit;
using Fabric.Bench.Fabric;
using Fabric.Bench.Load;

namespace Fabric.Bench.Scenarios;

/// <summary>
/// The scenario list of issue 5 §1, in one place. Each runs alone (the machine has 2 cores), after a
/// full GC, with its own warm-up. Quick mode keeps the rows the targets are judged on.
/// </summary>
internal sealed class ScenarioRunner(BenchOptions options, Targets targets, IReadOnlyList<Agent> agents, FabricHost fabric, CpuMeter cpu,
    IReadOnlyList<Agent>? proxied = null, string? launchedServer = null)
{
    public const string WarmH2 = "fabric h2 1KiB c32 warm";
    public const string DirectH2 = "direct h2 1KiB c32";
    public const string YarpH2 = "yarp h2 1KiB c32";
    public const string NginxH2 = "nginx h2 1KiB c32";
    public const string OpenDirect = "direct h2 1KiB open-loop";
    public const string OpenFabric = "fabric h2 1KiB open-loop";
    public const string ColdSequential = "fabric h2 1KiB c1 cold";
    public const string SplicingOffH2 = "fabric h2 1KiB c32 splicing off";
    /// <summary>The warm row on a server whose rule carries a budget (issue 12 §4: ≤ 3% below the warm row).</summary>
    public const string LimitedH2 = "fabric h2 1KiB c32 limited";
    /// <summary>Suffix of the headline rows measured again after every other scenario (the JIT has long tiered up).</summary>
    public const string Late = " (late)";

    private readonly List<ScenarioResult> _results = [];
    private readonly List<string> _notes = [];

    /// <summary>What the run found about itself (the JIT's warm-up), for the report's notes.</summary>
    public IReadOnlyList<string> Notes => _notes;
    private readonly bool _full = !options.Quick;

    public async Task<IReadOnlyList<ScenarioResult>> RunAllAsync(CancellationToken ct)
    {
        var call1K = BenchRequest.ToolsCall(Targets.PlainPath, 1024);
        var call32K = BenchRequest.ToolsCall(Targets.PlainPath, 32 * 1024);
        var list = BenchRequest.ToolsList(Targets.PlainPath);
        var edge1K = BenchRequest.ToolsCall(Targets.EdgePath, 1024);
        var edge32K = BenchRequest.ToolsCall(Targets.EdgePath, 32 * 1024);
        var edgeList = BenchRequest.ToolsList(Targets.EdgePath);
        var h2 = Targets.Http2;
        var h11 = Targets.Http11;
        var all = agents.Count;

        var edgeNoSplice = BenchRequest.ToolsCall(Targets.EdgeNoSplicePath, 1024);
        await HeadlineAsync(call1K, edge1K, edgeNoSplice, "", ct);

        // HTTP/1.1: one connection per agent.
        if (_full)
        {
            await ClosedAsync("direct h1.1 1KiB c32", targets.Direct, h11, call1K, all, ct);
            await ClosedAsync("yarp h1.1 1KiB c32", targets.Yarp, h11, call1K, all, ct);
            if (targets.Nginx is { } nginx11)
            {
                await ClosedAsync("nginx h1.1 1KiB c32", nginx11, h11, call1K, all, ct);
            }
        }
        await ClosedAsync("fabric h1.1 1KiB c32 warm", targets.Edge, h11, edge1K, all, ct);

        // SSE answers (one `message` event) instead of application/json.
        if (_full)
        {
            await ClosedAsync("direct h2 1KiB c32 sse", targets.Direct, h2, BenchRequest.ToolsCall(Targets.PlainSsePath, 1024), all, ct);
        }
        await ClosedAsync("fabric h2 1KiB c32 sse", targets.Edge, h2, BenchRequest.ToolsCall(Targets.EdgeSsePath, 1024), all, ct);

        // tools/list of 50 tools; through the edge it is buffered and filtered to the 10 the agents may call.
        if (_full)
        {
            await ClosedAsync("direct h2 tools/list 50 c32", targets.Direct, h2, list, all, ct);
        }
        await ClosedAsync("fabric h2 tools/list 50 filtered to 10 c32", targets.Edge, h2, edgeList, all, ct);

        // 32 KiB arguments: the edge reads (bounded) the whole message to decide.
        if (_full)
        {
            await ClosedAsync("direct h2 32KiB c32", targets.Direct, h2, call32K, all, ct);
        }
        await ClosedAsync("fabric h2 32KiB c32 warm", targets.Edge, h2, edge32K, all, ct);

        // The egress leg (issue 11 §7): an MCP server's own call to an API, directly and through the edge in base-URL mode
        // (decided on identity, target, method and path; the key spliced; the answer masked), in the same run.
        if (targets.Api is { } api)
        {
            await ClosedAsync("direct api h2 1KiB c32", api, h2, call1K, all, ct);
            await ClosedAsync("fabric egress base-url h2 1KiB c32", targets.Edge, h2, BenchRequest.ToolsCall(Targets.EgressPath, 1024), all, ct);
            await OpenAsync("direct api h2 1KiB open-loop", api, call1K, ct, rate: 500);
            await OpenAsync("fabric egress base-url h2 1KiB open-loop", targets.Edge, BenchRequest.ToolsCall(Targets.EgressPath, 1024), ct, rate: 500);
            if (proxied is { Count: > 0 })
            {
                // Forward-proxy mode: CONNECT to the edge's plain egress listener with a per-process credential, TLS
                // terminated with the egress CA and re-originated to the API; HTTP/1.1 inside the tunnel, so the direct
                // row beside it is HTTP/1.1 too (one connection per client either way).
                await ClosedAsync("direct api h1.1 1KiB c32", api, h11, call1K, all, ct);
                await ClosedAsync("fabric egress proxy h1.1 1KiB c32", api, h11, call1K, all, ct, clients: proxied);
                await OpenAsync("direct api h1.1 1KiB open-loop", api, call1K, ct, rate: 500, version: h11);
                await OpenAsync("fabric egress proxy h1.1 1KiB open-loop", api, call1K, ct, rate: 500, version: h11, clients: proxied);
            }
        }

        // A launched stdio server (issue 11 §4): the edge's bridge to one shared process of the SDK's stdio server.
        if (launchedServer is not null)
        {
            await ClosedAsync("fabric launched stdio h2 1KiB c32", targets.Edge, h2, BenchRequest.ToolsCall("/mcp/" + launchedServer, 1024), all, ct);
            await ClosedAsync("fabric launched stdio h2 1KiB c1", targets.Edge, h2, BenchRequest.ToolsCall("/mcp/" + launchedServer, 1024), 1, ct);
        }

        // One agent, sequential: latency without queueing; cold = the edge's caches dropped before every request.
        await ClosedAsync("direct h2 1KiB c1", targets.Direct, h2, call1K, 1, ct);
        await ClosedAsync("yarp h2 1KiB c1", targets.Yarp, h2, call1K, 1, ct);
        await ClosedAsync("fabric h2 1KiB c1 warm", targets.Edge, h2, edge1K, 1, ct);
        await ClosedAsync(ColdSequential, targets.Edge, h2, edge1K, 1, ct, fabric.EdgeCache.InvalidateAll);
        if (_full)
        {
            await ClosedAsync("fabric h2 1KiB c32 cold", targets.Edge, h2, edge1K, all, ct, fabric.EdgeCache.InvalidateAll);
        }

        // Open loop at a fixed rate: the added p99 target.
        await OpenAsync(OpenDirect, targets.Direct, call1K, ct);
        if (_full)
        {
            await OpenAsync("yarp h2 1KiB open-loop", targets.Yarp, call1K, ct);
            if (targets.Nginx is { } nginxOpen)
            {
                await OpenAsync("nginx h2 1KiB open-loop", nginxOpen, call1K, ct);
            }
        }
        await OpenAsync(OpenFabric, targets.Edge, edge1K, ct);
        if (_full)
        {
            // A quarter of the rate: the added latency when the machine is not near saturation.
            await OpenAsync(OpenDirect, targets.Direct, call1K, ct, options.OpenLoopRate / 4);
            await OpenAsync(OpenFabric, targets.Edge, edge1K, ct, options.OpenLoopRate / 4);
        }

        // The headline again, last: rows taken first may be measured before tiered JIT has optimised the proxy
        // with the most code (issue 9 §3). Comparing the two sets says whether they were.
        await HeadlineAsync(call1K, edge1K, edgeNoSplice, Late, ct);
        return _results;
    }

    /// <summary>
    /// One fabric row, long, for a profiler to attach to: warm-up first, then the process id on stderr
    /// (<c>PROFILE pid=…</c>), a pause for the profiler to connect, and the measured window.
    /// </summary>
    public async Task ProfileAsync(ProfileMode mode, TimeSpan duration, CancellationToken ct)
    {
        var cold = mode == ProfileMode.Cold;
        var (name, baseUrl, version, request, clients) = mode switch
        {
            ProfileMode.Egress when targets.Api is { } api && proxied is { Count: > 0 } =>
                ("fabric egress proxy h1.1 1KiB c32", api, Targets.Http11, BenchRequest.ToolsCall(Targets.PlainPath, 1024), proxied),
            ProfileMode.Egress => throw new InvalidOperationException("the egress proxy row needs the demo API and proxied clients"),
            _ => (cold ? ColdSequential : WarmH2, targets.Edge, Targets.Http2, BenchRequest.ToolsCall(Targets.EdgePath, 1024), agents),
        };
        var count = cold ? 1 : clients.Count;
        Action? beforeEach = cold ? fabric.EdgeCache.InvalidateAll : null;
        await ClosedLoop.RunAsync(new LoadPlan([.. clients.Take(count)], baseUrl, version, request, TimeSpan.Zero, TimeSpan.FromSeconds(3), beforeEach), cpu, ct);
        Console.Error.WriteLine($"PROFILE pid={Environment.ProcessId}");
        await Task.Delay(TimeSpan.FromSeconds(2), ct);
        await ClosedAsync(name, baseUrl, version, request, count, ct, beforeEach, duration, clients);
        // Audit records ship off the request path: a backlog here is work the window did not pay for.
        var flush = Stopwatch.StartNew();
        await fabric.EdgeServices.GetRequiredService<AuditShipper>().FlushAsync(ct);
        Console.Error.WriteLine($"  audit backlog after the window shipped in {flush.Elapsed.TotalMilliseconds:0} ms");
    }

    /// <summary>
    /// Warm 1 KiB tools/call, HTTP/2, all agents, saturation: direct, YARP, nginx and the fabric in
    /// interleaved rounds (D Y N F D Y N F …) and summed, so outside load and drift hit all four alike.
    /// The first pass over every target and protocol is an unmeasured JIT and connection warm-up. The fabric runs
    /// twice per round, with splicing (and so credential redaction) and without a credential binding, so the
    /// splicing-on/off ratio is taken in the same rounds.
    /// </summary>
    private async Task HeadlineAsync(BenchRequest plain, BenchRequest edge, BenchRequest edgeNoSplice, string suffix, CancellationToken ct)
    {
        var rows = new List<(string Name, Uri BaseUrl, BenchRequest Request)>
        {
            (DirectH2, targets.Direct, plain),
            (YarpH2, targets.Yarp, plain),
        };
        if (targets.Nginx is { } nginx)
        {
            rows.Add((NginxH2, nginx, plain));
        }
        rows.Add((WarmH2, targets.Edge, edge));
        rows.Add((SplicingOffH2, targets.Edge, edgeNoSplice));
        rows.Add((LimitedH2, targets.Edge, BenchRequest.ToolsCall(Targets.EdgeLimitedPath, 1024)));

        foreach (var (_, baseUrl, request) in rows)
        {
            foreach (var version in new[] { Targets.Http2, Targets.Http11 })
            {
                await ClosedLoop.RunAsync(new LoadPlan(agents, baseUrl, version, request, TimeSpan.Zero, options.WarmUp / 2), cpu, ct);
            }
        }

        if (suffix.Length == 0)
        {
            await WarmUntilJitSettlesAsync(rows, ct);
        }

        var measurements = rows.Select(_ => new Measurement()).ToArray();
        var compiledBefore = System.Runtime.JitInfo.GetCompiledMethodCount();
        var shipper = fabric.EdgeServices.GetRequiredService<AuditShipper>();
        var (writesBefore, recordsBefore) = (shipper.SpoolWrites, shipper.Enqueued);
        var slice = options.Duration / options.HeadlineRounds;
        for (var round = 0; round < options.HeadlineRounds; round++)
        {
            for (var i = 0; i < rows.Count; i++)
            {
                Settle();
                var plan = new LoadPlan(agents, rows[i].BaseUrl, Targets.Http2, rows[i].Request, TimeSpan.FromMilliseconds(150), slice);
                await ClosedLoop.RunAsync(plan, cpu, measurements[i], ct);
            }
        }
        _notes.Add($"headline rows{suffix}: {System.Runtime.JitInfo.GetCompiledMethodCount() - compiledBefore} methods JIT-compiled during the measured rounds");
        Console.Error.WriteLine("  " + _notes[^1]);
        var (writes, records) = (shipper.SpoolWrites - writesBefore, shipper.Enqueued - recordsBefore);
        _notes.Add($"audit spool{suffix}: {writes} writes (one fsync each) for {records} records over the headline rounds, "
            + $"{(records == 0 ? 0 : 1000.0 * writes / records):0.0} per 1000 records");
        Console.Error.WriteLine("  " + _notes[^1]);
        for (var i = 0; i < rows.Count; i++)
        {
            Add(rows[i].Name + suffix, measurements[i].ToResult($"{options.HeadlineRounds} interleaved rounds of {slice.TotalSeconds:0.00} s"));
        }
    }

    /// <summary>
    /// Drives every headline row in turn until a whole round leaves the JIT nearly idle (at most
    /// <see cref="SettledCompilations"/> methods compiled, tier-1 recompilations included), or until the cap: a row
    /// measured while tiered compilation still works on the hot path understates the proxy with the most code
    /// (issue 9 §3). How long it took goes in the report's notes.
    /// </summary>
    private async Task WarmUntilJitSettlesAsync(IReadOnlyList<(string Name, Uri BaseUrl, BenchRequest Request)> rows, CancellationToken ct)
    {
        var cap = options.Quick ? TimeSpan.FromSeconds(8) : TimeSpan.FromSeconds(60);
        var slice = options.Quick ? TimeSpan.FromMilliseconds(200) : TimeSpan.FromMilliseconds(500);
        var clock = Stopwatch.StartNew();
        long compiled;
        var rounds = 0;
        do
        {
            var before = System.Runtime.JitInfo.GetCompiledMethodCount();
            foreach (var (_, baseUrl, request) in rows)
            {
                await ClosedLoop.RunAsync(new LoadPlan(agents, baseUrl, Targets.Http2, request, TimeSpan.Zero, slice), cpu, ct);
            }
            compiled = System.Runtime.JitInfo.GetCompiledMethodCount() - before;
            rounds++;
        }
        while (compiled > SettledCompilations && clock.Elapsed < cap);
        _notes.Add(compiled <= SettledCompilations
            ? $"JIT settled before the headline rounds: {rounds} warm-up rounds over every headline row, {clock.Elapsed.TotalSeconds:0.0} s; the last compiled {compiled} methods"
            : $"JIT NOT settled before the headline rounds: still {compiled} methods compiled in the last warm-up round after {clock.Elapsed.TotalSeconds:0.0} s (cap)");
        Console.Error.WriteLine("  " + _notes[^1]);
    }

    private const int SettledCompilations = 20;

    private async Task ClosedAsync(string name, Uri baseUrl, Version version, BenchRequest request, int agentCount, CancellationToken ct,
        Action? beforeEach = null, TimeSpan? duration = null, IReadOnlyList<Agent>? clients = null)
    {
        Settle();
        var plan = new LoadPlan([.. (clients ?? agents).Take(agentCount)], baseUrl, version, request, options.WarmUp, duration ?? options.Duration, beforeEach);
        Add(name, await ClosedLoop.RunAsync(plan, cpu, ct));
    }

    private async Task OpenAsync(string name, Uri baseUrl, BenchRequest request, CancellationToken ct, int? rate = null, Version? version = null,
        IReadOnlyList<Agent>? clients = null)
    {
        Settle();
        var perSecond = rate ?? options.OpenLoopRate;
        var plan = new LoadPlan(clients ?? agents, baseUrl, version ?? Targets.Http2, request, options.WarmUp, options.Duration);
        var (paused, gen1, gen2) = (GC.GetTotalPauseDuration(), GC.CollectionCount(1), GC.CollectionCount(2));
        Add($"{name} {perSecond}/s", await OpenLoop.RunAsync(plan, perSecond, cpu, ct));
        // A tail has to come from somewhere: how long the runtime stopped the whole process (every party in it) meanwhile.
        _notes.Add($"{name} {perSecond}/s: the GC paused this process {(GC.GetTotalPauseDuration() - paused).TotalMilliseconds:0} ms in all "
            + $"during the row (warm-up included; {GC.CollectionCount(1) - gen1} gen1 and {GC.CollectionCount(2) - gen2} gen2 collections)");
    }

    private void Add(string name, LoadResult result)
    {
        _results.Add(new ScenarioResult(name, result));
        Console.Error.WriteLine($"  {name,-40} {result.Rps,9:0} rps  p50 {result.Latency.P50Ms,7:0.000}  p99 {result.Latency.P99Ms,7:0.000} ms  cpu {result.CpuMsPer1000,5:0} ms/1k  alloc {(result.AllocatedBytesPerRequest is { } allocated ? allocated.ToString("0", CultureInfo.InvariantCulture) : "n/a"),7} B/req"
            + (result.Failed > 0 ? $"  FAILED {result.Failed}" : ""));
    }

    /// <summary>Each scenario starts from a collected heap, so one's garbage is not the next one's pause.</summary>
    private static void Settle()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
    }
}
