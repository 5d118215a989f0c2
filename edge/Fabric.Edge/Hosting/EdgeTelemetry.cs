using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Fabric.Edge.Hosting;

/// <summary>Traces (one span per decided message) and metrics of the edge, under the name "Fabric".</summary>
public sealed class EdgeTelemetry : IDisposable
{
    public const string Name = "Fabric";
    public static readonly ActivitySource Source = new(Name);

    private readonly Meter _meter;

    public EdgeTelemetry(IMeterFactory meters)
    {
        _meter = meters.Create(Name);
        Decisions = _meter.CreateCounter<long>("fabric.edge.decisions", description: "MCP messages decided at the edge, by decision and reason");
        Latency = _meter.CreateHistogram<double>("fabric.edge.duration", unit: "ms", description: "Time from request to response at the edge");
        ToolsHeld = _meter.CreateCounter<long>("fabric.edge.tool_lock.held", description: "Tools, prompts and templates held back from list answers because their definition is not the approved one");
    }

    public Counter<long> ToolsHeld { get; }

    public Counter<long> Decisions { get; }
    public Histogram<double> Latency { get; }

    public void Dispose() => _meter.Dispose();
}
