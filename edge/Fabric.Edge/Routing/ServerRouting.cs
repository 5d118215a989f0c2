using Fabric.Hosting;
using Fabric.Contracts.Policy;
using Fabric.Contracts.Servers;
using Fabric.Edge.Caching;
using Fabric.Edge.Pipeline;

namespace Fabric.Edge.Routing;

/// <summary>
/// Step 2: <c>/mcp/{server}</c> → the server's definition and the caller's grant on it (cache, else grains, side by
/// side); for <c>/egress/{target}</c> the target (under its <c>egress:</c> key) and the caller's egress rules on it.
/// Unknown server or target → 404; the cluster unreachable → 503 (fail closed).
/// </summary>
internal sealed partial class ServerRouting(EdgeCache cache, ILogger<ServerRouting> logger)
{
    public async ValueTask<bool> RouteAsync(McpExchange exchange)
    {
        try
        {
            // A name that cannot be a server's is unknown without asking the cluster.
            var key = exchange.IsEgress ? EgressTargetDefinition.KeyFor(exchange.ServerName) : exchange.ServerName;
            var known = McpServerValidator.IsValidName(exchange.ServerName);
            var prefetched = known && !exchange.IsEgress && HttpMethods.IsPost(exchange.Context.Request.Method);
            if (prefetched)
            {
                cache.PrefetchToolLock(key);
            }
            var (definition, grant) = known
                ? await cache.GetServerAndGrantAsync(key, exchange.Workload!)
                : (null, WorkloadGrant.None);
            if (prefetched && definition is null)
            {
                cache.ForgetToolLockPrefetch(key);
            }
            exchange.Grant = grant;
            exchange.Server = definition;
        }
        catch (Exception ex) when (ClusterCalls.IsClusterFault(ex))
        {
            LogClusterFault(logger, ex.GetType().Name, ex.Message);
            await Refusals.RefuseAsync(exchange, ReasonCodes.PolicyUnavailable, "The fabric could not reach its policy; the call is denied. Retry shortly.");
            return false;
        }
        if (exchange.Server is null && exchange.IsEgress)
        {
            await Refusals.RefuseAsync(exchange, ReasonCodes.UnknownEgressTarget, $"No egress target named '{exchange.ServerName}' is registered with the fabric.");
            return false;
        }
        if (exchange.Server is null)
        {
            await Refusals.RefuseAsync(exchange, ReasonCodes.UnknownServer, $"No MCP server named '{exchange.ServerName}' is registered with the fabric.");
            return false;
        }
        return true;
    }

    [LoggerMessage(EventId = 2301, Level = LogLevel.Warning, Message = "Cluster unreachable while deciding ({Error}: {Message}); denying")]
    private static partial void LogClusterFault(ILogger logger, string error, string message);
}
