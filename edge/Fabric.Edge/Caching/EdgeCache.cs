using System.Collections.Concurrent;
using Fabric.Hosting;
using Fabric.Contracts.Policy;
using Fabric.Contracts.Servers;
using Fabric.Edge.Hosting;
using Microsoft.Extensions.Options;

namespace Fabric.Edge.Caching;

/// <summary>
/// The edge's only state: caches of server definitions, workload grants, credentials and session
/// owners, all answerable from the cluster again at any time.
/// <list type="bullet">
/// <item>Reads are lock-free (<see cref="ConcurrentDictionary{TKey,TValue}"/> lookups of immutable entries).</item>
/// <item>Invalidations bump an epoch before they drop entries; a fetch that started under an older
/// epoch is answered but not cached, so a push can never be overwritten by a slower, stale read.</item>
/// <item>While the subscription to pushes is not confirmed (see <see cref="Trusted"/>) nothing is
/// served from cache: every decision goes to the cluster, which fails closed when it is unreachable.</item>
/// </list>
/// </summary>
public sealed partial class EdgeCache(IClusterClient cluster, ClusterCalls calls, IOptions<EdgeOptions> options, TimeProvider time)
{
    private readonly ConcurrentDictionary<string, Entry<McpServerDefinition?>> _servers = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<(string Workload, string Server), Entry<WorkloadGrant>> _grants = new();
    // Completed lookups of usable credentials: a hit hands out the same finished task, no allocation.
    private readonly ConcurrentDictionary<string, Task<CredentialResult>> _credentials = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, SpiffeId> _sessionOwners = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Entry<ToolLockView>> _toolLocks = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, (long Epoch, Task<ToolLockView> View)> _toolLockFetches = new(StringComparer.Ordinal);
    private long _epoch;
    private long _trustedUntilTicks;
    // The egress targets by the authority (host:port) of their upstream, for the forward proxy; rebuilt after any target changed.
    private Entry<IReadOnlyDictionary<string, string[]>>? _egressAuthorities;

    private sealed record Entry<T>(T Value, DateTimeOffset Expires);

    /// <summary>True while the subscription to invalidation pushes is confirmed.</summary>
    public bool Trusted => time.GetUtcNow().UtcTicks < Volatile.Read(ref _trustedUntilTicks);

    /// <summary>Called after each confirmed (re)subscription; a gap means pushes may have been missed.</summary>
    internal void ConfirmSubscription(bool resubscribedAfterGap)
    {
        if (resubscribedAfterGap)
        {
            InvalidateAll();
        }
        Volatile.Write(ref _trustedUntilTicks, (time.GetUtcNow() + options.Value.SubscriptionGrace).UtcTicks);
    }

    /// <summary>Stops trusting the caches at once (this edge was revoked): every lookup goes to the cluster.</summary>
    internal void LoseSubscription()
    {
        Volatile.Write(ref _trustedUntilTicks, 0);
        InvalidateAll();
    }

    public async ValueTask<McpServerDefinition?> GetServerAsync(string name)
    {
        if (Trusted && _servers.TryGetValue(name, out var entry) && entry.Expires > time.GetUtcNow())
        {
            return entry.Value;
        }
        var epoch = Volatile.Read(ref _epoch);
        var server = await calls.RetryAsync(() => cluster.UpstreamAsync(name));
        Store(_servers, name, new Entry<McpServerDefinition?>(server, time.GetUtcNow() + options.Value.CacheTtl), epoch);
        return server;
    }

    public async ValueTask<WorkloadGrant> GetGrantAsync(SpiffeId workload, string server)
    {
        var key = (workload.ToString(), server);
        if (Trusted && _grants.TryGetValue(key, out var entry) && entry.Expires > time.GetUtcNow())
        {
            return entry.Value;
        }
        var epoch = Volatile.Read(ref _epoch);
        var grant = await calls.RetryAsync(() => cluster.Workload(key.Item1).GetGrantAsync(server));
        Store(_grants, key, new Entry<WorkloadGrant>(grant, time.GetUtcNow() + options.Value.CacheTtl), epoch);
        return grant;
    }

    /// <summary>
    /// A server's definition and a workload's grant for it. They live in different grains, so on a miss
    /// both are asked at once: a cold message waits for the slower of the two, not for their sum.
    /// </summary>
    public async ValueTask<(McpServerDefinition? Server, WorkloadGrant Grant)> GetServerAndGrantAsync(string server, SpiffeId workload)
    {
        var definition = GetServerAsync(server);
        var grant = GetGrantAsync(workload, server);
        if (definition.IsCompletedSuccessfully && grant.IsCompletedSuccessfully)
        {
            return (definition.Result, grant.Result);
        }
        var (pendingDefinition, pendingGrant) = (definition.AsTask(), grant.AsTask());
        try
        {
            // WhenAll observes both failures (the cluster being away fails both) and rethrows the first.
            await Task.WhenAll(pendingDefinition, pendingGrant);
        }
        catch when (pendingDefinition.IsCompletedSuccessfully && pendingDefinition.Result is null)
        {
            // An unknown server is unknown whatever became of the grant lookup: the caller answers 404 without it.
            return (null, WorkloadGrant.None);
        }
        return (pendingDefinition.Result, pendingGrant.Result);
    }

    /// <summary>
    /// The egress targets whose upstream is <paramref name="authority"/> (<c>host:port</c>, lower case): what the forward
    /// proxy maps a CONNECT to. Built from the target directory and each target (both cached like servers).
    /// </summary>
    public async ValueTask<string[]> GetEgressTargetsForAsync(string authority)
    {
        if (!(Trusted && _egressAuthorities is { } entry && entry.Expires > time.GetUtcNow()))
        {
            var epoch = Volatile.Read(ref _epoch);
            var names = await calls.RetryAsync(() => cluster.EgressDirectory().ListAsync());
            var byAuthority = new Dictionary<string, List<string>>(StringComparer.Ordinal);
            foreach (var name in names)
            {
                if (await GetServerAsync(EgressTargetDefinition.KeyFor(name)) is { } target)
                {
                    var key = target.Upstream.Host.ToLowerInvariant() + ":" + target.Upstream.Port;
                    (byAuthority.TryGetValue(key, out var list) ? list : byAuthority[key] = []).Add(name);
                }
            }
            entry = new Entry<IReadOnlyDictionary<string, string[]>>(byAuthority.ToDictionary(e => e.Key, e => e.Value.ToArray(), StringComparer.Ordinal),
                time.GetUtcNow() + options.Value.CacheTtl);
            _egressAuthorities = entry;
            if (Volatile.Read(ref _epoch) != epoch)
            {
                _egressAuthorities = null;
            }
        }
        return entry.Value.TryGetValue(authority, out var targets) ? targets : [];
    }

    /// <summary>
    /// The credential to splice, cached no longer than its lease allows (minus a safety margin). Never
    /// faults for the cluster being away: that is a result without a credential, so a lookup started
    /// early (see the proxy handler) can be left unawaited when the message is denied.
    /// </summary>
    public Task<CredentialResult> GetCredentialAsync(string leaseKey)
    {
        if (Trusted && _credentials.TryGetValue(leaseKey, out var cached) && Usable(cached.Result.Credential!, time.GetUtcNow()))
        {
            return cached;
        }
        return FetchCredentialAsync(leaseKey);
    }

    private async Task<CredentialResult> FetchCredentialAsync(string leaseKey)
    {
        var epoch = Volatile.Read(ref _epoch);
        CredentialResult result;
        try
        {
            result = await calls.RetryAsync(() => cluster.GetGrain<ICredentialLeaseGrain>(leaseKey).GetAsync());
        }
        catch (Exception ex) when (ClusterCalls.IsClusterFault(ex))
        {
            return new CredentialResult(null, "the credential lease could not be reached");
        }
        if (result.Credential is { } credential && Usable(credential, time.GetUtcNow()))
        {
            Store(_credentials, leaseKey, Task.FromResult(result), epoch);
        }
        return result;
    }

    private bool Usable(Credential credential, DateTimeOffset now) => credential.ExpiresAt - options.Value.CredentialSafetyMargin > now;

    public void Invalidate(Invalidation invalidation)
    {
        Interlocked.Increment(ref _epoch);
        switch (invalidation.Kind)
        {
            case InvalidationKind.Catalog:
                _grants.Clear();
                break;
            case InvalidationKind.Workload when invalidation.Key is { } workload:
                foreach (var key in _grants.Keys.Where(k => k.Workload == workload))
                {
                    _grants.TryRemove(key, out _);
                }
                break;
            case InvalidationKind.Server when invalidation.Key is { } server:
                _servers.TryRemove(server, out _);
                _toolLocks.TryRemove(server, out _);
                if (EgressTargetDefinition.TryParseKey(server, out _))
                {
                    _egressAuthorities = null;
                }
                foreach (var key in _grants.Keys.Where(k => k.Server == server))
                {
                    _grants.TryRemove(key, out _);
                }
                foreach (var key in _credentials.Keys.Where(k => k == server || k.StartsWith(server + "|", StringComparison.Ordinal)))
                {
                    _credentials.TryRemove(key, out _);
                }
                break;
            case InvalidationKind.ToolLock when invalidation.Key is { } locked:
                _toolLocks.TryRemove(locked, out _);
                break;
            case InvalidationKind.Credential when invalidation.Key is { } lease:
                _credentials.TryRemove(lease, out _);
                break;
            case InvalidationKind.Credential:
                _credentials.Clear();
                break;
            case InvalidationKind.Bundle:
                // Nothing cached depends on the trust bundle (the subscriber installs the new one).
                break;
            default:
                InvalidateAll();
                break;
        }
    }

    public void InvalidateAll()
    {
        Interlocked.Increment(ref _epoch);
        _servers.Clear();
        _grants.Clear();
        _credentials.Clear();
        _toolLocks.Clear();
        _toolLockFetches.Clear();
        _egressAuthorities = null;
    }

    private void Store<TKey, TValue>(ConcurrentDictionary<TKey, TValue> map, TKey key, TValue value, long epoch) where TKey : notnull
    {
        map[key] = value;
        // An invalidation raced with this fetch: drop what we stored, it may predate the change.
        if (Volatile.Read(ref _epoch) != epoch)
        {
            map.TryRemove(key, out _);
        }
    }
}
