using Fabric.Bench.Load;

namespace Fabric.Bench.Scenarios;

/// <summary>One row of the report.</summary>
internal sealed record ScenarioResult(string Name, LoadResult Load);
