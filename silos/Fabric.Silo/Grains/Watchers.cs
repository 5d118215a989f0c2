namespace Fabric.Silo.Grains;

/// <summary>
/// The silo-side observers a grain tells of its changes (the edge registry's and the CA's watchers): renewed by
/// each watcher's periodic re-watch, forgotten when unrenewed for <paramref name="lifetime"/> or when a call to it
/// fails or exceeds <paramref name="timeout"/> (it resyncs whatever it missed on its next re-watch). Used only from
/// the owning grain's turns, so it needs no locking.
/// </summary>
internal sealed class Watchers<TObserver>(TimeSpan lifetime, TimeSpan timeout) where TObserver : IGrainObserver
{
    private readonly Dictionary<TObserver, DateTimeOffset> _watchers = [];

    /// <summary>Renews <paramref name="observer"/>; true when the set changed (a new watcher, or stale ones dropped).</summary>
    public bool Renew(TObserver observer, DateTimeOffset now)
    {
        var changed = false;
        foreach (var stale in _watchers.Where(w => now - w.Value > lifetime).Select(w => w.Key).ToList())
        {
            changed |= _watchers.Remove(stale);
        }
        changed |= !_watchers.ContainsKey(observer);
        _watchers[observer] = now;
        return changed;
    }

    /// <summary>The watchers known now (what a grain persists so that a reactivation elsewhere still tells them).</summary>
    public List<TObserver> Current => [.. _watchers.Keys];

    /// <summary>Takes back persisted watchers as renewed <paramref name="now"/> (a dead one is dropped at its first failed call).</summary>
    public void Restore(IEnumerable<TObserver> observers, DateTimeOffset now)
    {
        foreach (var observer in observers)
        {
            _watchers.TryAdd(observer, now);
        }
    }

    /// <summary>Calls every watcher at once and waits for all (bounded); returns how many acknowledged, of how many.</summary>
    public async Task<(int Told, int Total)> TellAsync(Func<TObserver, Task> call)
    {
        var targets = _watchers.Keys.ToArray();
        var told = await Task.WhenAll(targets.Select(async watcher =>
        {
            try
            {
                await call(watcher).WaitAsync(timeout);
                return true;
            }
            catch (Exception)
            {
                // Whatever a watcher does wrong (gone, slow, throws) must not keep the others from hearing.
                return false;
            }
        }));
        for (var i = 0; i < targets.Length; i++)
        {
            if (!told[i])
            {
                _watchers.Remove(targets[i]);
            }
        }
        return (told.Count(t => t), targets.Length);
    }
}
