using Fabric.Hosting;
using Fabric.Edge.Hosting;
using Fabric.Edge.Identity;
using Microsoft.Extensions.Options;

namespace Fabric.Edge.Caching;

/// <summary>
/// Keeps the edge subscribed to the cluster's invalidation hub: subscribes at start, renews every
/// <see cref="EdgeOptions.SubscriptionRefresh"/> (which also resubscribes after a silo failover or
/// a client reconnect), and confirms each renewal to the cache. A renewal after a failed one
/// drops every cache entry, since pushes may have been missed in between.
/// </summary>
internal sealed partial class InvalidationSubscriber(
    IClusterClient cluster,
    EdgeCache cache,
    IServiceProvider services,
    IOptions<EdgeOptions> options,
    TimeProvider time,
    ILogger<InvalidationSubscriber> logger) : BackgroundService, IFabricObserver
{
    private IFabricObserver? _reference;
    private bool _lastFailed = true;
    private Guid? _epoch;
    private bool _revoked;

    public async Task OnInvalidatedAsync(Invalidation invalidation)
    {
        if (invalidation.Kind == InvalidationKind.Bundle)
        {
            // Awaited: the acknowledgement means "installed", which a CA rotation waits for before it switches.
            var join = services.GetRequiredService<EdgeJoin>();
            if (invalidation.Key is { } trustDomain && trustDomain != join.OwnTrustDomain)
            {
                await join.RefreshFederatedAsync(trustDomain);
            }
            else
            {
                await join.RefreshBundleAsync(invalidation.Version);
            }
        }
        if (invalidation.Kind == InvalidationKind.EdgeRevoked)
        {
            if (invalidation.Key != options.Value.Name)
            {
                return;
            }
            // This edge is revoked: nothing it cached may be trusted again. The cluster cuts its links next;
            // every decision from now on needs the cluster, which no longer answers it: fail closed.
            _revoked = true;
            cache.LoseSubscription();
            LogRevoked(logger);
            return;
        }
        cache.Invalidate(invalidation);
        // Live streams and calls are decided again under the change, off this callback (it must answer the hub fast).
        _ = services.GetRequiredService<Fabric.Edge.Pipeline.LiveExchanges>().RecheckAsync(invalidation);
        if (invalidation is { Kind: InvalidationKind.Server, Key: { } server })
        {
            // A launched server's processes of the old definition stop now, not at their idle timeout.
            services.GetRequiredService<Fabric.Edge.Launch.LaunchedServers>().OnServerChanged(server, invalidation.Version);
        }
        LogInvalidated(logger, invalidation.Kind, invalidation.Key);
    }

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        _reference = cluster.CreateObjectReference<IFabricObserver>(this);
        await RenewAsync();
        try
        {
            // The join gave the X.509 bundle; the JWT-SVID keys (and any newer bundle) come from the CA grain.
            await services.GetRequiredService<EdgeJoin>().RefreshBundleAsync();
            await services.GetRequiredService<EdgeJoin>().RefreshAllFederatedAsync();
        }
        catch (Exception ex) when (ClusterCalls.IsClusterFault(ex))
        {
            LogRenewFailed(logger, ex.Message);
        }
        await base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.SubscriptionRefresh, time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            await RenewAsync();
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_reference is not null)
        {
            try
            {
                await cluster.Hub().UnsubscribeAsync(_reference).AsTask().WaitAsync(TimeSpan.FromSeconds(2), cancellationToken);
            }
            catch (Exception ex) when (ClusterCalls.IsClusterFault(ex) || ex is OperationCanceledException)
            {
                // The hub drops silent subscribers on its own.
            }
            cluster.DeleteObjectReference<IFabricObserver>(_reference);
        }
        await base.StopAsync(cancellationToken);
    }

    private async Task RenewAsync()
    {
        if (_revoked)
        {
            return;
        }
        try
        {
            var epoch = await cluster.Hub().SubscribeAsync(_reference!);
            // A new epoch means the hub was reactivated (its silo died): pushes may have been
            // missed in between, so nothing cached before now is trusted.
            var hubChanged = _epoch is { } known && known != epoch;
            cache.ConfirmSubscription(resubscribedAfterGap: _lastFailed || hubChanged);
            _epoch = epoch;
            _lastFailed = false;
        }
        catch (Exception ex) when (ClusterCalls.IsClusterFault(ex))
        {
            _lastFailed = true;
            LogRenewFailed(logger, ex.Message);
        }
    }

    [LoggerMessage(EventId = 2103, Level = LogLevel.Error, Message = "This edge was revoked: every cache dropped, no longer subscribed")]
    private static partial void LogRevoked(ILogger logger);

    [LoggerMessage(EventId = 2101, Level = LogLevel.Debug, Message = "Invalidation {Kind} {Key}")]
    private static partial void LogInvalidated(ILogger logger, InvalidationKind kind, string? key);

    [LoggerMessage(EventId = 2102, Level = LogLevel.Warning, Message = "Renewing the invalidation subscription failed: {Error}")]
    private static partial void LogRenewFailed(ILogger logger, string error);
}
