using Fabric.Bench.Scenarios;

namespace Fabric.Bench.Report;

/// <summary>Turns the run's results into the JSON report: rounding, ratios of the headline scenario, revocation percentiles.</summary>
internal static class ReportBuilder
{
    public static BenchReport Build(MachineInfo machine, IReadOnlyList<ScenarioResult> results, IReadOnlyList<RevocationResult> revocations, ScaleResult scale)
    {
        var scenarios = results.Select(r => new ScenarioJson(
            r.Name, Round(r.Load.Rps, 1), Round(r.Load.Latency.P50Ms), Round(r.Load.Latency.P90Ms), Round(r.Load.Latency.P99Ms),
            Round(r.Load.Latency.MaxMs), Round(r.Load.CpuMsPer1000), r.Load.AllocatedBytesPerRequest is { } allocated ? Math.Round(allocated) : null)).ToArray();
        var ratios = new RatiosJson(
            Ratio(results, ScenarioRunner.WarmH2, ScenarioRunner.DirectH2),
            Ratio(results, ScenarioRunner.WarmH2, ScenarioRunner.YarpH2),
            Ratio(results, ScenarioRunner.WarmH2, ScenarioRunner.NginxH2),
            Ratio(results, ScenarioRunner.WarmH2, ScenarioRunner.SplicingOffH2),
            Exact(results, ScenarioRunner.WarmH2, ScenarioRunner.DirectH2),
            Exact(results, ScenarioRunner.WarmH2, ScenarioRunner.YarpH2),
            Exact(results, ScenarioRunner.WarmH2, ScenarioRunner.NginxH2),
            Exact(results, ScenarioRunner.WarmH2, ScenarioRunner.SplicingOffH2),
            Ratio(results, ScenarioRunner.LimitedH2, ScenarioRunner.WarmH2),
            Exact(results, ScenarioRunner.LimitedH2, ScenarioRunner.WarmH2));
        var byEdges = revocations.OrderBy(r => r.Edges).Select(Revocation).ToArray();
        return new BenchReport(
            new MachineJson(machine.Cores, machine.Sdk, machine.Os),
            scenarios,
            ratios,
            byEdges.Length > 0 ? byEdges[^1] : new RevocationJson(0, 0, 0, 0, 0),
            new ScaleJson(scale.Workloads, Round(scale.BytesPerWorkload, 0)),
            byEdges);
    }

    private static RevocationJson Revocation(RevocationResult result)
    {
        var samples = result.ToDenialMs;
        return new RevocationJson(result.Edges, samples.Count, Round(Percentile(samples, 0.50)), Round(Percentile(samples, 0.99)), Round(Percentile(samples, 1.0)));
    }

    public static ScenarioResult? Find(IReadOnlyList<ScenarioResult> results, string prefix) =>
        results.FirstOrDefault(r => r.Name.StartsWith(prefix, StringComparison.Ordinal));

    private static double? Ratio(IReadOnlyList<ScenarioResult> results, string numerator, string denominator) =>
        Find(results, numerator) is { } n && Find(results, denominator) is { Load.Rps: > 0 } d ? Round(n.Load.Rps / d.Load.Rps) : null;

    /// <summary>The ratio of the two rows measured last (the names plus <see cref="ScenarioRunner.Late"/>).</summary>
    private static double? Exact(IReadOnlyList<ScenarioResult> results, string numerator, string denominator) =>
        results.FirstOrDefault(r => r.Name == numerator + ScenarioRunner.Late) is { } n
        && results.FirstOrDefault(r => r.Name == denominator + ScenarioRunner.Late) is { Load.Rps: > 0 } d
            ? Round(n.Load.Rps / d.Load.Rps) : null;

    public static double Percentile(IReadOnlyList<double> values, double quantile)
    {
        if (values.Count == 0)
        {
            return 0;
        }
        var sorted = values.Order().ToArray();
        return sorted[Math.Clamp((int)Math.Ceiling(quantile * sorted.Length) - 1, 0, sorted.Length - 1)];
    }

    private static double Round(double value, int digits = 3) => Math.Round(value, digits);
}
