using Fabric.Hosting;
using Fabric.Contracts.Policy;
using Fabric.Edge.Caching;
using Fabric.Edge.Mcp;
using Fabric.Edge.Pipeline;

namespace Fabric.Edge.Sessions;

/// <summary>
/// Step 3: an <c>Mcp-Session-Id</c> the agent presents must be one the fabric saw an upstream mint for this very
/// workload (bound in <see cref="Forwarding.SplicingTransformer"/> before the agent could see it). Never seen → 404
/// (the transport's "start a new session"); another workload's → 403.
/// </summary>
internal sealed class SessionOwnership(EdgeCache cache)
{
    public async ValueTask<bool> CheckAsync(McpExchange exchange)
    {
        var sessionId = exchange.Context.Request.Headers[McpHeaders.SessionId].ToString();
        if (sessionId.Length == 0)
        {
            return true;
        }
        SpiffeId? owner;
        try
        {
            owner = await cache.GetSessionOwnerAsync(exchange.ServerName, sessionId);
        }
        catch (Exception ex) when (ClusterCalls.IsClusterFault(ex))
        {
            return await RefuseAsync(exchange, ReasonCodes.PolicyUnavailable, "The fabric could not check the session's owner; the call is denied.");
        }
        if (owner is null)
        {
            return await RefuseAsync(exchange, ReasonCodes.UnknownSession, "The fabric never saw this session id minted; start a new session.");
        }
        return owner.Equals(exchange.Workload)
            || await RefuseAsync(exchange, ReasonCodes.SessionBindingMismatch, "This session id was minted for another identity.");
    }

    /// <summary>After a successful DELETE the session is over: its binding goes too.</summary>
    public async ValueTask ForgetEndedAsync(McpExchange exchange)
    {
        if (HttpMethods.IsDelete(exchange.Context.Request.Method) && exchange.UpstreamStatus is >= 200 and < 300
            && exchange.Context.Request.Headers[McpHeaders.SessionId].ToString() is { Length: > 0 } ended)
        {
            await cache.ForgetSessionAsync(exchange.ServerName, ended);
        }
    }

    private static async ValueTask<bool> RefuseAsync(McpExchange exchange, string reason, string detail)
    {
        await Refusals.RefuseAsync(exchange, reason, detail);
        return false;
    }
}
