using System.Globalization;
using Fabric.Bench.Scenarios;

namespace Fabric.Bench.Report;

/// <summary>Where each target of issue 5 §2 stands in this run, one line each, "MET" or "MISSED" with the numbers.</summary>
internal static class TargetCheck
{
    public static IEnumerable<string> Evaluate(BenchReport report, IReadOnlyList<ScenarioResult> results, ScaleResult scale)
    {
        static string F(double value) => value.ToString("0.000", CultureInfo.InvariantCulture);
        static string Verdict(bool met) => met ? "MET" : "MISSED";

        yield return report.Ratios.FabricOverYarp is { } yarp
            ? $"throughput ≥ 0.9× YARP: {Verdict(yarp >= 0.9)} ({yarp:0.00}×)"
            : "throughput ≥ 0.9× YARP: not measured";
        yield return report.Ratios.FabricOverDirect is { } direct
            ? $"throughput ≥ 0.6× direct: {Verdict(direct >= 0.6)} ({direct:0.00}×)"
            : "throughput ≥ 0.6× direct: not measured";

        var first = true;
        foreach (var openFabric in results.Where(r => r.Name.StartsWith(ScenarioRunner.OpenFabric, StringComparison.Ordinal)))
        {
            var rate = openFabric.Name[ScenarioRunner.OpenFabric.Length..];
            if (results.FirstOrDefault(r => r.Name == ScenarioRunner.OpenDirect + rate) is not { } openDirect)
            {
                continue;
            }
            var added = openFabric.Load.Latency.P99Ms - openDirect.Load.Latency.P99Ms;
            var label = $"added p99 over direct ≤ 1 ms, open loop{rate}";
            yield return first
                ? $"{label}: {Verdict(added <= 1.0)} (fabric p99 {F(openFabric.Load.Latency.P99Ms)} − direct p99 {F(openDirect.Load.Latency.P99Ms)} = {F(added)} ms)"
                : $"{label} (for reference): {F(added)} ms (fabric p99 {F(openFabric.Load.Latency.P99Ms)}, direct p99 {F(openDirect.Load.Latency.P99Ms)})";
            first = false;
        }

        yield return report.Revocation.Samples > 0
            ? $"revocation p99 ≤ 50 ms to every edge ({report.Revocation.Edges}): {Verdict(report.Revocation.P99Ms <= 50)} ({F(report.Revocation.P99Ms)} ms over {report.Revocation.Samples} changes)"
            : "revocation p99 ≤ 50 ms: no samples";

        if (ReportBuilder.Find(results, ScenarioRunner.ColdSequential) is { } cold && ReportBuilder.Find(results, "fabric h2 1KiB c1 warm") is { } warm)
        {
            var added = cold.Load.Latency.P99Ms - warm.Load.Latency.P99Ms;
            yield return $"cold decision p99 ≤ 2 ms: {Verdict(added <= 2.0)} (whole cold request p99 {F(cold.Load.Latency.P99Ms)} ms; the cold decision adds {F(added)} ms p99 over the warm request's {F(warm.Load.Latency.P99Ms)} ms)";
        }

        yield return $"≤ 4 KiB per active workload grain: {Verdict(scale.BytesPerWorkload <= 4096)} ({scale.BytesPerWorkload:0} B managed heap per workload over {scale.Workloads} workloads)";
    }
}
