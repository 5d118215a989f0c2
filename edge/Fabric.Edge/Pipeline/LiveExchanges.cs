using System.Collections.Concurrent;
using Fabric.Contracts.Grains;
using Fabric.Contracts.Policy;
using Fabric.Edge.Caching;
using Fabric.Edge.Policy;

namespace Fabric.Edge.Pipeline;

/// <summary>
/// The exchanges this edge is forwarding right now (issue 12 §5): open SSE answers, 2025 event streams, calls in
/// flight. When the cluster pushes a change to a workload, a server or the policy catalog, every live exchange it may
/// touch is decided again under the fresh grant; one the new grant does not allow (the grant removed, the workload
/// disabled, the server deleted) is cut at once: the connection is aborted and the exchange audited as
/// <c>revoked</c>. Deciding fails closed: if the fresh grant cannot be read, the exchange is cut too.
/// </summary>
internal sealed partial class LiveExchanges(EdgeCache cache, ILogger<LiveExchanges> logger)
{
    private readonly ConcurrentDictionary<Guid, McpExchange> _live = new();
    private readonly ConcurrentDictionary<TaskCompletionSource<McpExchange>, Func<McpExchange, bool>> _watchers = new();

    public int Count => _live.Count;

    /// <summary>Tracks <paramref name="exchange"/> until the returned handle is disposed (when forwarding ends).</summary>
    public Registration Track(McpExchange exchange)
    {
        _live[exchange.RecordId] = exchange;
        // Watchers are a test's event; the request path only pays for a check of an empty dictionary.
        if (!_watchers.IsEmpty)
        {
            foreach (var (watcher, matches) in _watchers)
            {
                if (matches(exchange) && _watchers.TryRemove(watcher, out _))
                {
                    watcher.TrySetResult(exchange);
                }
            }
        }
        return new Registration(this, exchange.RecordId);
    }

    /// <summary>Completes when an exchange that <paramref name="matches"/> is being forwarded (now or later): tests' event to await.</summary>
    internal Task<McpExchange> WhenLiveAsync(Func<McpExchange, bool> matches)
    {
        var watcher = new TaskCompletionSource<McpExchange>(TaskCreationOptions.RunContinuationsAsynchronously);
        _watchers[watcher] = matches;
        if (_live.Values.FirstOrDefault(matches) is { } already && _watchers.TryRemove(watcher, out _))
        {
            watcher.TrySetResult(already);
        }
        return watcher.Task;
    }

    /// <summary>Decides again every live exchange the change may touch; cuts what is no longer allowed. Never faults.</summary>
    public Task RecheckAsync(Invalidation invalidation)
    {
        var affected = _live.Values.Where(e => invalidation.Kind switch
        {
            InvalidationKind.Catalog => true,
            InvalidationKind.Workload => e.Workload?.ToString() == invalidation.Key,
            InvalidationKind.Server => e.ServerName == invalidation.Key,
            _ => false,
        }).ToList();
        return affected.Count == 0 ? Task.CompletedTask : Task.WhenAll(affected.Select(RecheckAsync));
    }

    private async Task RecheckAsync(McpExchange exchange)
    {
        string? reason;
        try
        {
            if (await cache.GetServerAsync(exchange.ServerName) is null)
            {
                reason = ReasonCodes.UnknownServer;
            }
            else
            {
                exchange.Grant = await cache.GetGrantAsync(exchange.Workload!, exchange.ServerName);
                var (decision, _) = EdgePolicy.Decide(exchange);
                // A call an approval let through stays let through: the approval was for this very call.
                reason = decision.Allowed || (decision.Reason == ReasonCodes.ApprovalRequired && exchange.Decision?.ApprovalId is not null) ? null : decision.Reason;
            }
        }
        catch (Exception ex)
        {
            reason = ReasonCodes.PolicyUnavailable;
            LogRecheckFailed(logger, exchange.RecordId, ex.Message);
        }
        if (reason is not null && _live.ContainsKey(exchange.RecordId))
        {
            exchange.Revoke();
            LogCut(logger, exchange.RecordId, exchange.Workload?.ToString() ?? "", exchange.ServerName, reason);
            exchange.Context.Abort();
        }
    }

    public readonly struct Registration(LiveExchanges owner, Guid id) : IDisposable
    {
        public void Dispose() => owner._live.TryRemove(id, out _);
    }

    [LoggerMessage(EventId = 2340, Level = LogLevel.Information, Message = "Exchange {Id} of {Workload} on {Server} cut: its access was revoked ({Reason})")]
    private static partial void LogCut(ILogger logger, Guid id, string workload, string server, string reason);

    [LoggerMessage(EventId = 2341, Level = LogLevel.Warning, Message = "Exchange {Id} could not be decided again (cut, fail closed): {Error}")]
    private static partial void LogRecheckFailed(ILogger logger, Guid id, string error);
}
