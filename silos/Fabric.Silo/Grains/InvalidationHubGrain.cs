using Microsoft.Extensions.Logging;

namespace Fabric.Silo.Grains;

/// <summary>
/// Fans invalidations out to every subscribed edge and waits (bounded) for their acknowledgements,
/// so a management call that returns has already reached every live edge. An edge that does not
/// answer within the timeout is dropped from the set; it resubscribes on its next heartbeat, and
/// until then its own grace timer makes it stop trusting its caches (fail closed).
/// </summary>
/// <remarks>
/// Awaited observer calls rather than [OneWay]: measured here an observer round trip costs
/// ~80 µs median, and the acknowledgement turns "the PUT returned" into "every edge has dropped
/// the stale entry", which the revocation guarantee needs.
/// </remarks>
public sealed partial class InvalidationHubGrain(ILogger<InvalidationHubGrain> logger, TimeProvider time) : Grain, IInvalidationHubGrain
{
    private static readonly TimeSpan AckTimeout = TimeSpan.FromSeconds(2);
    /// <summary>Edges resubscribe every few seconds; a subscription unrefreshed for this long is dropped.</summary>
    private static readonly TimeSpan SubscriptionLifetime = TimeSpan.FromMinutes(1);

    private readonly Dictionary<IFabricObserver, DateTimeOffset> _observers = [];

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        // The subscriber set lives in memory only: keep the hub active so edges need not
        // resubscribe after idle collection.
        DelayDeactivation(TimeSpan.FromDays(3650));
        return Task.CompletedTask;
    }

    public ValueTask SubscribeAsync(IFabricObserver observer)
    {
        _observers[observer] = time.GetUtcNow();
        return ValueTask.CompletedTask;
    }

    public ValueTask UnsubscribeAsync(IFabricObserver observer)
    {
        _observers.Remove(observer);
        return ValueTask.CompletedTask;
    }

    public async ValueTask PublishAsync(Invalidation invalidation)
    {
        var now = time.GetUtcNow();
        foreach (var stale in _observers.Where(o => now - o.Value > SubscriptionLifetime).Select(o => o.Key).ToList())
        {
            _observers.Remove(stale);
        }

        var targets = _observers.Keys.ToArray();
        var deliveries = targets.Select(o => DeliverAsync(o, invalidation)).ToArray();
        var delivered = await Task.WhenAll(deliveries);
        for (var i = 0; i < targets.Length; i++)
        {
            if (!delivered[i])
            {
                _observers.Remove(targets[i]);
            }
        }
        LogPublished(logger, invalidation.Kind, invalidation.Key, delivered.Count(d => d), targets.Length);
    }

    private async Task<bool> DeliverAsync(IFabricObserver observer, Invalidation invalidation)
    {
        try
        {
            await observer.OnInvalidatedAsync(invalidation).WaitAsync(AckTimeout);
            return true;
        }
        catch (Exception ex)
        {
            // Whatever an edge does wrong (times out, is gone, throws), it must not stop the others
            // from hearing about the change; it is dropped and resubscribes on its next heartbeat.
            LogDeliveryFailed(logger, invalidation.Kind, ex.GetType().Name);
            return false;
        }
    }

    [LoggerMessage(EventId = 1100, Level = LogLevel.Debug, Message = "Invalidation {Kind} {Key} delivered to {Delivered}/{Total} edges")]
    private static partial void LogPublished(ILogger logger, InvalidationKind kind, string? key, int delivered, int total);

    [LoggerMessage(EventId = 1101, Level = LogLevel.Warning, Message = "Invalidation {Kind} not acknowledged by an edge ({Error}); dropping its subscription")]
    private static partial void LogDeliveryFailed(ILogger logger, InvalidationKind kind, string error);
}
