using Fabric.Contracts.Identity;
using Microsoft.Extensions.Options;

namespace Fabric.Silo.Identity;

/// <summary>
/// Keeps this silo's <see cref="LinkPeers"/> in step with the edge registry: watches it (a grain observer,
/// renewed every <see cref="Refresh"/>), refuses every revoked edge named in each resync, and refuses a newly
/// revoked edge the moment the registry announces it, which also aborts that edge's open gateway links.
/// </summary>
internal sealed partial class EdgeRevocationWatcher(
    IGrainFactory grains,
    LinkPeers peers,
    IOptions<TrustDomainOptions> trustDomain,
    ILogger<EdgeRevocationWatcher> logger) : BackgroundService, IEdgeRevocationObserver
{
    private static readonly TimeSpan Refresh = TimeSpan.FromSeconds(10);
    private IEdgeRevocationObserver? _reference;

    public Task OnEdgeRevokedAsync(string edgeName)
    {
        if (FabricNodes.IsValidName(edgeName))
        {
            var aborted = peers.Refuse(FabricNodes.Id(trustDomain.Value.TrustDomain, FabricRole.Edge, edgeName));
            LogRefused(logger, edgeName, aborted);
        }
        return Task.CompletedTask;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        _reference = grains.CreateObjectReference<IEdgeRevocationObserver>(this);
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                try
                {
                    var revoked = await grains.Edges().WatchAsync(_reference);
                    peers.RefuseAll(revoked.Where(FabricNodes.IsValidName)
                        .Select(name => FabricNodes.Id(trustDomain.Value.TrustDomain, FabricRole.Edge, name)));
                }
                catch (Exception ex) when (Fabric.Hosting.ClusterCalls.IsClusterFault(ex))
                {
                    LogWatchFailed(logger, ex.Message);
                }
                await Task.Delay(Refresh, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            grains.DeleteObjectReference<IEdgeRevocationObserver>(_reference);
        }
    }

    [LoggerMessage(EventId = 1420, Level = LogLevel.Warning, Message = "Edge {EdgeName} is revoked: its handshakes are refused, {Aborted} open links aborted")]
    private static partial void LogRefused(ILogger logger, string edgeName, int aborted);

    [LoggerMessage(EventId = 1421, Level = LogLevel.Warning, Message = "Watching the edge registry failed: {Error}")]
    private static partial void LogWatchFailed(ILogger logger, string error);
}
