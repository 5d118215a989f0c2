using System.Text.Json;
using System.Text.Json.Serialization;

namespace Fabric.Bench.Report;

/// <summary>
/// The JSON file of issue 5 §1 (camelCase); ratios are null when a baseline is absent. <c>revocation</c>
/// is the run with the most edges (time until every edge denies); <c>revocationByEdges</c> adds each run.
/// </summary>
internal sealed record BenchReport(
    MachineJson Machine,
    IReadOnlyList<ScenarioJson> Scenarios,
    RatiosJson Ratios,
    RevocationJson Revocation,
    ScaleJson Scale,
    IReadOnlyList<RevocationJson> RevocationByEdges)
{
    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    public string ToJson() => JsonSerializer.Serialize(this, Json);
}

internal sealed record MachineJson(int Cores, string Sdk, string Os);

internal sealed record ScenarioJson(string Name, double Rps, double P50Ms, double P90Ms, double P99Ms, double MaxMs, double CpuMsPer1000, double? AllocatedBytesPerRequest);

internal sealed record RatiosJson(
    double? FabricOverDirect, double? FabricOverYarp, double? FabricOverNginx, double? SplicingOnOverOff,
    double? FabricOverDirectLate, double? FabricOverYarpLate, double? FabricOverNginxLate, double? SplicingOnOverOffLate,
    double? LimitedOverUnlimited = null, double? LimitedOverUnlimitedLate = null);

internal sealed record RevocationJson(int Edges, int Samples, double P50Ms, double P99Ms, double MaxMs);

internal sealed record ScaleJson(int Workloads, double BytesPerWorkload);
