using System.Reflection;
using Fabric.Edge.Audit;
using Microsoft.Extensions.Options;

namespace Fabric.Edge.Hosting;

/// <summary>
/// Tells the edge registry, every <see cref="EdgeOptions.HeartbeatInterval"/>, that this edge runs, which build it
/// runs and how many audit records it holds that the cluster has not acknowledged: what <c>fabric status</c> and the
/// console show as an edge's last seen, version and audit backlog. A missed report changes nothing but that view.
/// </summary>
internal sealed partial class EdgeHeartbeat(
    IClusterClient cluster,
    AuditShipper audit,
    IOptions<EdgeOptions> options,
    TimeProvider time,
    ILogger<EdgeHeartbeat> logger) : BackgroundService
{
    private readonly TaskCompletionSource _reported = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The build an edge reports: its informational version as the SDK stamps it (the registry keeps 64 characters).</summary>
    public static string Version { get; } =
        typeof(EdgeHeartbeat).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";

    /// <summary>Completes once a report has been accepted by the cluster (tests await it instead of sleeping).</summary>
    public Task FirstReport => _reported.Task;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.HeartbeatInterval, time);
        try
        {
            do
            {
                try
                {
                    await cluster.Edges().ReportAsync(new EdgeReport(options.Value.Name, Version, audit.Backlog));
                    _reported.TrySetResult();
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    LogReportFailed(logger, ex.GetType().Name);
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    [LoggerMessage(EventId = 1490, Level = LogLevel.Debug, Message = "The edge's heartbeat did not reach the registry ({Error}); the next one tries again")]
    private static partial void LogReportFailed(ILogger logger, string error);
}
