namespace Fabric.Contracts.Grains;

/// <summary>
/// Fans invalidations out to every subscribed edge (key "default"). Publishing waits for the
/// edges' acknowledgements (bounded), so a management call that returns has already reached every
/// live edge: "revoked" means revoked on the very next message.
/// </summary>
[Alias("fabric.IInvalidationHubGrain")]
public interface IInvalidationHubGrain : IGrainWithStringKey
{
    /// <summary>
    /// Subscribes (or renews) an edge. Returns the hub activation's epoch: an edge that sees it change
    /// knows the hub was reactivated (a silo died) and drops its caches, since pushes may have been missed.
    /// </summary>
    [Alias("Subscribe")]
    ValueTask<Guid> SubscribeAsync(IFabricObserver observer);

    [Alias("Unsubscribe")]
    ValueTask UnsubscribeAsync(IFabricObserver observer);

    [Alias("Publish")]
    ValueTask PublishAsync(Invalidation invalidation);
}

/// <summary>Implemented by edges; receives cache invalidations.</summary>
[Alias("fabric.IFabricObserver")]
public interface IFabricObserver : IGrainObserver
{
    [Alias("OnInvalidated")]
    Task OnInvalidatedAsync(Invalidation invalidation);
}

[GenerateSerializer, Immutable, Alias("fabric.invalidation")]
public sealed record Invalidation(
    [property: Id(0)] InvalidationKind Kind,
    [property: Id(1)] string? Key,
    [property: Id(2)] long Version);

[GenerateSerializer, Alias("fabric.invalidation-kind")]
public enum InvalidationKind
{
    /// <summary>The policy catalog changed: drop every cached grant.</summary>
    Catalog = 0,
    /// <summary>One workload changed (key = SPIFFE ID).</summary>
    Workload = 1,
    /// <summary>One server changed or was removed (key = server name).</summary>
    Server = 2,
    /// <summary>A credential lease was revoked or rotated (key = lease grain key).</summary>
    Credential = 3,
    /// <summary>The trust bundle changed (key = trust domain).</summary>
    Bundle = 4,
    /// <summary>An edge was revoked (key = edge name): that edge drops every cache and stops trusting them.</summary>
    EdgeRevoked = 5,
    /// <summary>A server's tool lock changed: an approval, a drift, a first sight (key = server name).</summary>
    ToolLock = 6,
}
