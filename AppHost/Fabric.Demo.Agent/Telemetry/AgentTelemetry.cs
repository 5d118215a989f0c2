using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Fabric.Demo.Agent.Telemetry;

/// <summary>The agent's span source and counters, shown in the Aspire dashboard.</summary>
public sealed class AgentTelemetry : IDisposable
{
    public const string Name = "Fabric.Demo.Agent";

    /// <summary>The ActivitySource and Meter name the ModelContextProtocol SDK 2.4.0 reports under.</summary>
    public const string McpSdkSource = "Experimental.ModelContextProtocol";

    private readonly Meter _meter;
    private readonly Counter<long> _allowed;
    private readonly Counter<long> _denied;
    private readonly Counter<long> _failed;
    private readonly Histogram<double> _duration;

    public AgentTelemetry(IMeterFactory meterFactory)
    {
        _meter = meterFactory.Create(Name);
        _allowed = _meter.CreateCounter<long>("fabric.demo_agent.calls.allowed", "{call}", "Tool calls the edge let through.");
        _denied = _meter.CreateCounter<long>("fabric.demo_agent.calls.denied", "{call}", "Tool calls the edge denied (JSON-RPC -32003).");
        _failed = _meter.CreateCounter<long>("fabric.demo_agent.calls.failed", "{call}", "Tool calls that failed for another reason.");
        _duration = _meter.CreateHistogram<double>("fabric.demo_agent.call.duration", "ms", "Tool call round trip through the edge.");
    }

    public ActivitySource Source { get; } = new(Name);

    public void Record(string tool, CallOutcome outcome, TimeSpan elapsed)
    {
        var tag = new KeyValuePair<string, object?>("mcp.tool.name", tool);
        var counter = outcome switch
        {
            CallOutcome.Allowed => _allowed,
            CallOutcome.Denied => _denied,
            _ => _failed,
        };
        counter.Add(1, tag);
        _duration.Record(elapsed.TotalMilliseconds, tag, new("fabric.outcome", outcome.ToString().ToLowerInvariant()));
    }

    public void Dispose()
    {
        Source.Dispose();
        _meter.Dispose();
    }
}

public enum CallOutcome
{
    Allowed,
    Denied,
    Failed,
}
