using System.Diagnostics;
using Fabric.Bench;
using Fabric.Bench.Baselines;
using Fabric.Bench.Fabric;
using Fabric.Bench.Load;
using Fabric.Bench.Report;
using Fabric.Bench.Scenarios;
using Fabric.Bench.Upstream;

// Issue 5 §1: upstream, baselines (direct, YARP, nginx) and the fabric (silo + edge) on loopback in
// this process; the scenarios one after another; a markdown table on stdout, JSON with --out.
if (args is ["--serve-yarp", var yarpUpstream, var yarpDirectory, var yarpPort])
{
    // A child of --pinned: the YARP baseline in a process of its own.
    await YarpPassthrough.ServeAsync(new Uri(yarpUpstream), yarpDirectory, int.Parse(yarpPort, System.Globalization.CultureInfo.InvariantCulture));
    return;
}
var options = BenchOptions.Parse(args);
using var limit = new CancellationTokenSource(options.HardLimit);
var ct = limit.Token;
var clock = Stopwatch.StartNew();
void Progress(string message) => Console.Error.WriteLine($"[{clock.Elapsed.TotalSeconds,5:0.0}s] {message}");

var machine = await MachineInfo.DetectAsync();
var loadAtStart = MachineInfo.LoadAverage();
Progress($"{(options.Quick ? "quick" : "full")} mode on {machine.Cores} cores, SDK {machine.Sdk}");
var notes = new List<string>
{
    "Every party (load generator, upstream, YARP, silo, edge) runs in this one process on the same 2 cores; nginx is a child process. "
        + "CPU ms / 1000 req is this process's CPU (plus nginx's) over the window: a proxy's own cost is its row minus the direct row.",
    "One PKI: every certificate is an X.509-SVID from the fabric's CA, every party trusts only the fabric bundle. The upstream is https + required client "
        + "certificate; the fabric registers it with identity pinned to the upstream's SPIFFE ID, so the edge does mTLS in and out exactly like YARP and nginx "
        + "(no plain-http shortcut on the fabric path).",
    "YARP and the edge forward to the upstream over HTTP/2; nginx 1.22 proxies over HTTP/1.1 with keep-alive.",
};

await using var fabric = await FabricHost.StartAsync(options.FabricArgs, ct);
if (options.FabricArgs.Count > 0)
{
    notes.Add("silo and edge ran with extra arguments: " + string.Join(' ', options.FabricArgs));
}
Progress($"silo + edge up at {fabric.EdgeUrl}");
var upstreamSvid = await fabric.MintAsync("bench/upstream", ct, ["localhost"], ["127.0.0.1"]);
var yarpSvid = await fabric.MintAsync("bench/yarp", ct, ["localhost"], ["127.0.0.1"]);
var nginxSvid = await fabric.MintAsync("bench/nginx", ct, ["localhost"], ["127.0.0.1"]);
var agents = new List<Agent>();
for (var i = 0; i < options.Agents; i++)
{
    agents.Add(new Agent(await fabric.MintAsync($"{FabricRegistration.AgentsPrefix}/a{i:D3}", ct), fabric.Pki));
}
using var revocationAgent = new Agent(await fabric.MintAsync("bench/revocation/agent", ct), fabric.Pki);

await using var upstream = await UpstreamServer.StartAsync(upstreamSvid, fabric.Pki, ct);
await FabricRegistration.RegisterAsync(fabric, upstream.BaseUrl, upstreamSvid.SpiffeId, ct);
// The API an MCP server calls through the egress leg: the same answers, server authentication only.
await using var api = await UpstreamServer.StartAsync(upstreamSvid, fabric.Pki, ct, requireClientCertificate: false);
var apiCaFile = Path.Combine(Path.GetTempPath(), "fabric-bench-api-ca-" + Guid.NewGuid().ToString("N") + ".pem");
await File.WriteAllTextAsync(apiCaFile, fabric.Pki.BundlePem, ct);
await FabricRegistration.RegisterEgressAsync(fabric, api.BaseUrl, apiCaFile, ct);
// Forward-proxy mode: clients as a launched server's HTTP stack would be, through the plain egress listener with a
// per-process credential (for an identity the egress policy names) and the egress CA as their only trust.
var egressCa = System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPem(
    fabric.EdgeServices.GetRequiredService<Fabric.Edge.Egress.EgressCertificateAuthority>().CertificatePem);
var proxyCredential = fabric.EdgeServices.GetRequiredService<Fabric.Edge.Egress.ProxyCredentials>()
    .Issue(Fabric.Contracts.Identity.SpiffeId.Parse($"spiffe://{FabricHost.TrustDomain}/{FabricRegistration.AgentsPrefix}/proxied"));
var proxyUrl = fabric.EdgeServices.GetRequiredService<Fabric.Edge.Egress.EgressProxy>().Urls.First(u => u.Scheme == "http");
var proxied = agents.Select(a => Agent.ThroughProxy(a.Svid, proxyUrl, new System.Net.NetworkCredential(proxyCredential.User, proxyCredential.Password), egressCa)).ToList();
// A launched stdio server for the bridge rows, and the launch-to-first-answer probe.
string? launched = null;
if (Fabric.Edge.Tests.Launch.StdioServers.TryFindDemoServer() is { } stdioDll)
{
    launched = "bench-stdio";
    await FabricRegistration.RegisterLaunchedAsync(fabric, launched, stdioDll, ct);
}
else
{
    notes.Add("launched stdio rows skipped: the demo stdio server is not built for this configuration.");
}
await using var yarp = await YarpPassthrough.StartAsync(yarpSvid, fabric.Pki, upstream.BaseUrl, ct);
var cpu = new CpuMeter();
NginxProxy? nginx = null;
if (options.SkipNginx)
{
    notes.Add("nginx skipped (--no-nginx).");
}
else
{
    var (started, skipped) = await NginxProxy.StartAsync(nginxSvid, fabric.Pki, upstream.BaseUrl, ct);
    nginx = started;
    if (skipped is not null)
    {
        Progress("nginx baseline SKIPPED: " + skipped);
        notes.Add("nginx baseline skipped: " + skipped);
    }
    else
    {
        cpu.AddChildTree(nginx!.MasterPid);
    }
}
Progress($"upstream {upstream.BaseUrl}, yarp {yarp.BaseUrl}, nginx {nginx?.BaseUrl.ToString() ?? "none"}");

try
{
    var targets = new Targets(upstream.BaseUrl, yarp.BaseUrl, nginx?.BaseUrl, fabric.EdgeUrl, api.BaseUrl);
    if (!await Preflight.CheckAsync(targets, agents[0], ct))
    {
        notes.Add("nginx baseline dropped: its preflight request failed (see stderr).");
        targets = targets with { Nginx = null };
    }

    if (options.Pinned)
    {
        var (pinnedResults, pinnedNotes) = await PinnedRun.RunAsync(options, fabric, agents, upstream.BaseUrl, yarpSvid, cpu, ct);
        notes.AddRange(pinnedNotes);
        Console.Out.Write(MarkdownReport.RenderPinned(machine, pinnedResults, notes));
        if (options.OutPath is { } pinnedOut)
        {
            await File.WriteAllTextAsync(pinnedOut, System.Text.Json.JsonSerializer.Serialize(pinnedResults.Select(r => new { r.Name, r.Load }),
                new System.Text.Json.JsonSerializerOptions { WriteIndented = true }), ct);
        }
        return;
    }

    if (options.Profile is { } profile)
    {
        await new ScenarioRunner(options, targets, agents, fabric, cpu, proxied, launched).ProfileAsync(profile.Mode, profile.Duration, ct);
        return;
    }

    Progress("scenarios");
    var runner = new ScenarioRunner(options, targets, agents, fabric, cpu, proxied, launched);
    var results = new List<ScenarioResult>(await runner.RunAllAsync(ct));
    notes.AddRange(runner.Notes);

    if (launched is not null && global::Fabric.Edge.Tests.Launch.StdioServers.TryFindDemoServer() is { } dll)
    {
        Progress("launch to first answer");
        var launch = await LaunchProbe.RunAsync(fabric, agents[0], dll, options.Quick ? 3 : 10, ct);
        notes.Add($"launch to first answer ({launch.Samples} fresh launched servers, `dotnet` + the SDK's stdio server): p50 {launch.FirstP50Ms:0} ms, "
            + $"max {launch.FirstMaxMs:0} ms; the next request on the running process p50 {launch.SecondP50Ms:0.00} ms");
        Progress(notes[^1]);
    }

    var revocations = new List<RevocationResult>();
    foreach (var edges in (IReadOnlyList<Uri>[])[[fabric.EdgeUrl], fabric.EdgeUrls])
    {
        Progress($"revocation ({options.RevocationSamples} grant changes, {edges.Count} edge(s))");
        revocations.Add(await new RevocationProbe(fabric, revocationAgent, edges)
            .RunAsync(options.RevocationSamples, options.Quick ? TimeSpan.FromSeconds(5) : TimeSpan.FromMinutes(2), ct));
    }

    Progress("revocation of work in flight");
    var cut = await new InFlightCutProbe(fabric, revocationAgent, fabric.EdgeUrl).RunAsync(options.Quick ? 10 : 50, ct);
    notes.Add($"revocation of work in flight (issue 12 §5, {cut.AfterReturnMs.Count} streaming calls cut by a grant removal): from the API call's return "
        + $"to the end of the agent's stream p50 {ReportBuilder.Percentile(cut.AfterReturnMs, 0.5):0.0} ms, max {(cut.AfterReturnMs.Count > 0 ? cut.AfterReturnMs.Max() : double.NaN):0.0} ms, "
        + $"{cut.AfterReturnMs.Count(ms => ms > 100)} over 100 ms, {cut.Timeouts} not cut within 2 s (target: within 100 ms)");
    Progress(notes[^1]);

    var redaction = await RedactionProbe.RunAsync(options.Quick ? 20_000 : 200_000, ct);
    var warmEdge = ReportBuilder.Find(results, ScenarioRunner.WarmH2 + ScenarioRunner.Late) ?? ReportBuilder.Find(results, ScenarioRunner.WarmH2);
    var directRow = ReportBuilder.Find(results, ScenarioRunner.DirectH2 + ScenarioRunner.Late) ?? ReportBuilder.Find(results, ScenarioRunner.DirectH2);
    var edgeOwnUs = warmEdge is not null && directRow is not null ? warmEdge.Load.CpuMsPer1000 - directRow.Load.CpuMsPer1000 : double.NaN;
    notes.Add($"redaction alone (one thread, {redaction.Needles} needles): {redaction.MicrosecondsClean:0.00} µs per 1 KiB answer without an echo, "
        + $"{redaction.MicrosecondsEcho:0.00} µs with one; the edge's own CPU per warm request in this run: {edgeOwnUs:0} µs "
        + $"(redaction {100 * redaction.MicrosecondsClean / edgeOwnUs:0.0}% of it)");
    Progress(notes[^1]);
    var budgetUs = await BudgetProbe.RunAsync(fabric.EdgeServices.GetRequiredService<Fabric.Edge.Policy.Budgets>(), options.Quick ? 200_000 : 2_000_000, ct);
    notes.Add($"a budget alone (one thread: the charges of a tool call, one call from the edge's slice): {budgetUs:0.000} µs per call, "
        + $"{100 * budgetUs / edgeOwnUs:0.00}% of the edge's own CPU per warm request in this run");
    Progress(notes[^1]);
    Progress($"scale ({options.ScaleWorkloads} workloads)");
    var (scale, scaleThroughput) = await new ScaleProbe(fabric, cpu).RunAsync(options.ScaleWorkloads, ct);
    results.Add(scaleThroughput);

    // The posture report (issue 13 §5) with the scale probe's workloads active and the run's audit behind it.
    var postureTimes = new List<double>();
    for (var i = 0; i < 5; i++)
    {
        var started = Stopwatch.GetTimestamp();
        using var posture = await fabric.Admin.GetAsync("/v1/posture", ct);
        posture.EnsureSuccessStatusCode();
        await posture.Content.ReadAsStringAsync(ct);
        postureTimes.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
    }
    notes.Add($"posture report (GET /v1/posture) with {options.ScaleWorkloads} workload grains active and up to 10 000 audit records read: "
        + $"median {postureTimes.Order().ElementAt(2):0} ms, max {postureTimes.Max():0} ms over 5 requests");
    Progress(notes[^1]);

    notes.AddRange(results.Where(r => r.Load.Note is not null).Select(r => $"{r.Name}: {r.Load.Note}"));
    if (options.Quick)
    {
        notes.Add($"quick mode: {options.WarmUp.TotalSeconds:0.0} s warm-up + {options.Duration.TotalSeconds:0.0} s per scenario, {options.ScaleWorkloads} workloads; p99 of short windows is noisy — quote full mode.");
    }
    notes.Add($"1-minute load average at start {loadAtStart}, at end {MachineInfo.LoadAverage()} on {machine.Cores} cores: "
        + "anything well above 2 means other processes competed for the CPU during the run, and absolute numbers are not quotable.");
    var report = ReportBuilder.Build(machine, results, revocations, scale);
    Console.Out.Write(MarkdownReport.Render(report, results, revocations, scale, notes));
    if (options.OutPath is { } outPath)
    {
        await File.WriteAllTextAsync(outPath, report.ToJson(), ct);
        Progress($"wrote {outPath}");
    }
}
finally
{
    nginx?.Dispose();
    foreach (var agent in agents.Concat(proxied))
    {
        agent.Dispose();
    }
}
Progress("done");
