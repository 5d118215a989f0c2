using System.Globalization;
using System.Text;
using Fabric.Bench.Scenarios;

namespace Fabric.Bench.Report;

/// <summary>The markdown printed to stdout: machine, the scenario table, ratios, revocation, scale, and each issue-5 target.</summary>
internal static class MarkdownReport
{
    public static string Render(BenchReport report, IReadOnlyList<ScenarioResult> results, IReadOnlyList<RevocationResult> revocations, ScaleResult scale, IReadOnlyList<string> notes)
    {
        var text = new StringBuilder();
        void Line(string line) => text.Append(line).Append('\n');
        string F(double value, string format = "0.000") => value.ToString(format, CultureInfo.InvariantCulture);
        string R(double? ratio) => ratio is { } r ? F(r, "0.00") + "×" : "n/a";

        Line($"## Fabric bench — {DateTime.UtcNow:yyyy-MM-dd} — {report.Machine.Cores} cores, SDK {report.Machine.Sdk}, {report.Machine.Os}");
        Line("");
        Table(text, results);
        Line("");
        Line($"Throughput ratios (warm 1 KiB tools/call, HTTP/2, 32 agents): Fabric/direct {R(report.Ratios.FabricOverDirect)}, Fabric/YARP {R(report.Ratios.FabricOverYarp)}, Fabric/nginx {R(report.Ratios.FabricOverNginx)}, splicing on/off {R(report.Ratios.SplicingOnOverOff)}");
        Line($"Measured again last (JIT tiered up): Fabric/direct {R(report.Ratios.FabricOverDirectLate)}, Fabric/YARP {R(report.Ratios.FabricOverYarpLate)}, Fabric/nginx {R(report.Ratios.FabricOverNginxLate)}, splicing on/off {R(report.Ratios.SplicingOnOverOffLate)}");
        Line($"A rule with a budget (limit) vs the same rule without, warm, same rounds: {R(report.Ratios.LimitedOverUnlimited)}, measured again last {R(report.Ratios.LimitedOverUnlimitedLate)} (target ≥ 0.97)");
        foreach (var (json, revocation) in report.RevocationByEdges.Zip(revocations.OrderBy(r => r.Edges)))
        {
            Line($"Revocation ({json.Edges} edge{(json.Edges == 1 ? "" : "s")}, {json.Samples} grant changes, management API call → first denial at the last edge to deny): p50 {F(json.P50Ms)} ms, p99 {F(json.P99Ms)} ms, max {F(json.MaxMs)} ms"
                + $"; the API call itself returned after p50 {F(ReportBuilder.Percentile(revocation.ApiReturnedMs, 0.5))} ms; timeouts {revocation.Timeouts}");
        }
        Line($"Scale: {scale.Workloads} workload grains activated through IWorkloadGrain.GetGrantAsync at {F(scale.ActivationsPerSecond, "0")}/s: {F(scale.BytesPerWorkload, "0")} B managed heap per workload ({F(scale.WorkingSetBytesPerWorkload, "0")} B working set)");
        Line("");
        Line("### Issue 5 targets");
        foreach (var target in TargetCheck.Evaluate(report, results, scale))
        {
            Line("- " + target);
        }
        if (notes.Count > 0)
        {
            Line("");
            Line("### Notes");
            foreach (var note in notes)
            {
                Line("- " + note);
            }
        }
        return text.ToString();
    }

    /// <summary>The <c>--pinned</c> run: its rows and what they say (each proxy's own CPU is read from its process).</summary>
    public static string RenderPinned(MachineInfo machine, IReadOnlyList<ScenarioResult> results, IReadOnlyList<string> notes)
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"## Fabric bench --pinned — {DateTime.UtcNow:yyyy-MM-dd} — {machine.Cores} cores, SDK {machine.Sdk}, {machine.Os}\n\n");
        Table(text, results);
        text.Append("\n### Notes\n");
        foreach (var note in notes)
        {
            text.Append("- ").Append(note).Append('\n');
        }
        return text.ToString();
    }

    private static void Table(StringBuilder text, IReadOnlyList<ScenarioResult> results)
    {
        static string F(double value, string format = "0.000") => value.ToString(format, CultureInfo.InvariantCulture);
        text.Append("| scenario | req/s | p50 ms | p90 ms | p99 ms | max ms | CPU ms / 1000 req | alloc B / req | failed |\n");
        text.Append("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        foreach (var result in results)
        {
            var l = result.Load;
            text.Append(CultureInfo.InvariantCulture, $"| {result.Name} | {F(l.Rps, "0")} | {F(l.Latency.P50Ms)} | {F(l.Latency.P90Ms)} | {F(l.Latency.P99Ms)} | {F(l.Latency.MaxMs, "0.0")} | {F(l.CpuMsPer1000, "0")} | {(l.AllocatedBytesPerRequest is { } allocated ? F(allocated, "0") : "n/a")} | {l.Failed} |\n");
        }
    }
}
