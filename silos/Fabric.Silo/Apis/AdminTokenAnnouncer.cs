namespace Fabric.Silo.Apis;

/// <summary>Tells the operator where a generated admin token lives (never the token itself).</summary>
internal sealed partial class AdminTokenAnnouncer(AdminToken token, ILogger<AdminTokenAnnouncer> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (token.File is { } file)
        {
            LogGenerated(logger, file);
        }
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(EventId = 1001, Level = LogLevel.Warning,
        Message = "FABRIC_ADMIN_TOKEN is not set: the management API's admin token is stored in {File}")]
    private static partial void LogGenerated(ILogger logger, string file);
}
