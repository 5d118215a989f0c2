using Fabric.Contracts.Servers;

namespace Fabric.Edge.Caching;

/// <summary>The tool locks (issue 12 §1): cached like server definitions, fetched beside them on a cold message.</summary>
public sealed partial class EdgeCache
{
    /// <summary>A server's tool lock (issue 12 §1), cached like its definition and dropped on every push about it.</summary>
    public async ValueTask<ToolLockView> GetToolLockAsync(string server)
    {
        if (TryGetCachedToolLock(server, out var cached))
        {
            return cached;
        }
        var epoch = Volatile.Read(ref _epoch);
        if (_toolLockFetches.TryGetValue(server, out var pending) && pending.Epoch == epoch)
        {
            // Asked for since the last invalidation (PrefetchToolLock): the same answer a new ask would wait for.
            try
            {
                return await pending.View;
            }
            finally
            {
                _toolLockFetches.TryRemove(KeyValuePair.Create(server, pending));
            }
        }
        return await FetchToolLockAsync(server, epoch);
    }

    /// <summary>
    /// Starts fetching a server's tool lock beside its definition and the caller's grant, so a cold message waits for
    /// one round of cluster calls instead of two. A fetch started before an invalidation is never handed out after it
    /// (every invalidation moves the epoch), and an unknown server's is dropped (<see cref="ForgetToolLockPrefetch"/>).
    /// </summary>
    public void PrefetchToolLock(string server)
    {
        var epoch = Volatile.Read(ref _epoch);
        if (TryGetCachedToolLock(server, out _) || (_toolLockFetches.TryGetValue(server, out var pending) && pending.Epoch == epoch))
        {
            return;
        }
        var fetch = FetchToolLockAsync(server, epoch);
        // A prefetch nobody awaits must not leave an unobserved fault behind; a caller that awaits it sees the fault.
        _ = fetch.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        _toolLockFetches[server] = (epoch, fetch);
    }

    /// <summary>How many prefetched tool locks wait to be used (tests: unknown names must leave none behind).</summary>
    internal int PendingToolLockPrefetches => _toolLockFetches.Count;

    /// <summary>Drops a prefetch for a name that turned out to be no server (so unknown names never accumulate).</summary>
    public void ForgetToolLockPrefetch(string server) => _toolLockFetches.TryRemove(server, out _);

    private bool TryGetCachedToolLock(string server, [NotNullWhen(true)] out ToolLockView? view)
    {
        if (Trusted && _toolLocks.TryGetValue(server, out var entry) && entry.Expires > time.GetUtcNow())
        {
            view = entry.Value;
            return true;
        }
        view = null;
        return false;
    }

    private async Task<ToolLockView> FetchToolLockAsync(string server, long epoch) =>
        StoreToolLock(server, await calls.RetryAsync(() => cluster.ToolLock(server).GetViewAsync()), epoch);

    /// <summary>Caches a view the lock answered with, unless an invalidation came since <paramref name="epoch"/>.</summary>
    private ToolLockView StoreToolLock(string server, ToolLockView view, long epoch)
    {
        Store(_toolLocks, server, new Entry<ToolLockView>(view, time.GetUtcNow() + options.Value.CacheTtl), epoch);
        return view;
    }

    /// <summary>Tells the server's lock its list changed; the lock's push then drops every edge's cached view.</summary>
    public async Task SignalToolLockAsync(string server, LockedList list) =>
        await calls.RetryAsync(async ValueTask<bool> () =>
        {
            await cluster.ToolLock(server).SignalAsync(list);
            return true;
        });

    /// <summary>Reports a list as seen and caches the view the lock answers with.</summary>
    public async ValueTask<ToolLockView> ObserveToolsAsync(string server, LockedList list, IReadOnlyList<LockedItem> items)
    {
        var epoch = Volatile.Read(ref _epoch);
        return StoreToolLock(server, await calls.RetryAsync(() => cluster.ToolLock(server).ObserveAsync(list, items)), epoch);
    }
}
