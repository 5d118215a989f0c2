using System.Diagnostics.Metrics;

namespace Fabric.Silo.Hosting;

/// <summary>
/// Metrics of the silo, under the service defaults' meter name ("Fabric", the edge's too), which they export. One
/// process-wide meter, so every grain can count without a service of its own (test clusters build their silos bare).
/// </summary>
public static class SiloTelemetry
{
    private static readonly Meter Meter = new(Microsoft.Extensions.Hosting.ServiceDefaultsExtensions.TelemetryName);

    /// <summary>Tools, prompts and resource templates newly held back by a server's tool lock, by server and list.</summary>
    public static Counter<long> ToolDrift { get; } = Meter.CreateCounter<long>("fabric.tool_lock.drift",
        description: "Tools, prompts and resource templates newly held back by a server's tool lock (changed or new since the approval), by server and list");
}
