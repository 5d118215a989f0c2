namespace Fabric.Silo.Identity;

/// <summary>
/// A silo-side grain observer kept alive by re-watching every <paramref name="refresh"/> (which also resyncs
/// whatever the watcher may have missed while its grain was being reactivated elsewhere).
/// </summary>
internal abstract partial class GrainWatcher<TObserver>(IGrainFactory grains, ILogger logger, TimeSpan refresh) : BackgroundService
    where TObserver : class, IGrainObserver
{
    protected IGrainFactory Grains => grains;

    /// <summary>Watches (or re-watches) with the observer reference and resyncs.</summary>
    protected abstract Task RenewAsync(TObserver reference);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var reference = grains.CreateObjectReference<TObserver>((TObserver)(object)this);
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                try
                {
                    await RenewAsync(reference);
                }
                catch (Exception ex) when (Fabric.Hosting.ClusterCalls.IsClusterFault(ex))
                {
                    LogWatchFailed(logger, typeof(TObserver).Name, ex.Message);
                }
                await Task.Delay(refresh, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            grains.DeleteObjectReference<TObserver>(reference);
        }
    }

    [LoggerMessage(EventId = 1421, Level = LogLevel.Warning, Message = "Watching through {Observer} failed: {Error}")]
    private static partial void LogWatchFailed(ILogger logger, string observer, string error);
}
