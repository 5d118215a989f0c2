using Fabric.Contracts.Grains;

namespace Fabric.Edge.Caching;

/// <summary>Who owns an upstream session id or task id: the binding grains' answers, cached once known.</summary>
public sealed partial class EdgeCache
{
    /// <summary>The workload an upstream session id is bound to, or null when the fabric never saw it minted.</summary>
    public async ValueTask<SpiffeId?> GetSessionOwnerAsync(string server, string sessionId)
    {
        var key = ISessionBindingGrain.KeyFor(server, sessionId);
        if (_sessionOwners.TryGetValue(key, out var owner))
        {
            return owner;
        }
        owner = await calls.RetryAsync(() => cluster.GetGrain<ISessionBindingGrain>(key).GetOwnerAsync());
        if (owner is not null)
        {
            // Bindings never change owner, so they need no epoch check.
            _sessionOwners[key] = owner;
        }
        return owner;
    }

    /// <summary>Binds a freshly minted session id to the workload it was minted for.</summary>
    public async ValueTask<bool> BindSessionAsync(string server, string sessionId, SpiffeId workload)
    {
        var key = ISessionBindingGrain.KeyFor(server, sessionId);
        var bound = await calls.RetryAsync(() => cluster.GetGrain<ISessionBindingGrain>(key).BindAsync(workload));
        if (bound)
        {
            _sessionOwners[key] = workload;
        }
        return bound;
    }

    /// <summary>
    /// The identity a task id is bound to (issue 12 §5), or null. Kept in the session binding grains under a key no
    /// session id can take (a space: session ids are visible ASCII).
    /// </summary>
    public ValueTask<SpiffeId?> GetTaskOwnerAsync(string server, string taskId) => GetSessionOwnerAsync(server, TaskKey(taskId));

    /// <summary>Binds a task id the upstream just created to the identity that asked for it; false if bound to another.</summary>
    public ValueTask<bool> BindTaskAsync(string server, string taskId, SpiffeId workload) => BindSessionAsync(server, TaskKey(taskId), workload);

    private static string TaskKey(string taskId) => "task " + taskId;

    public async ValueTask ForgetSessionAsync(string server, string sessionId)
    {
        var key = ISessionBindingGrain.KeyFor(server, sessionId);
        _sessionOwners.TryRemove(key, out _);
        await calls.RetryAsync(() => cluster.GetGrain<ISessionBindingGrain>(key).ForgetAsync());
    }
}
