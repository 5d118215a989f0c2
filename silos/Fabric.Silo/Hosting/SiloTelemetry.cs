using System.Diagnostics.Metrics;

namespace Fabric.Silo.Hosting;

/// <summary>Metrics of the silo, under the service defaults' meter name ("Fabric", the edge's too), which they export.</summary>
public sealed class SiloTelemetry : IDisposable
{
    private readonly Meter _meter;

    public SiloTelemetry(IMeterFactory meters)
    {
        _meter = meters.Create(Microsoft.Extensions.Hosting.ServiceDefaultsExtensions.TelemetryName);
        ToolDrift = _meter.CreateCounter<long>("fabric.tool_lock.drift",
            description: "Tools, prompts and resource templates newly held back by a server's tool lock (changed or new since the approval), by server and list");
    }

    public Counter<long> ToolDrift { get; }

    public void Dispose() => _meter.Dispose();
}
