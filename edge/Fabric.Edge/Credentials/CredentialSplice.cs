using Fabric.Contracts.Grains;
using Fabric.Contracts.Policy;
using Fabric.Contracts.Servers;
using Fabric.Edge.Caching;
using Fabric.Edge.Pipeline;

namespace Fabric.Edge.Credentials;

/// <summary>
/// Step 6: the credential to splice (cache │ lease grain). The lookup starts right after routing, so a cold lease
/// overlaps reading and deciding the message; nothing is spliced unless the message was allowed, and the lease
/// grain itself issues only to workloads with a grant on the server. No credential → the call is denied with
/// <c>credential-unavailable</c>: never forwarded without it.
/// </summary>
internal sealed partial class CredentialSplice(EdgeCache cache, AgentJwts agentJwts, ILogger<CredentialSplice> logger)
{
    /// <summary>
    /// Starts the lookup when the server has a binding (or, for a federated fabric's server, wants the agent's
    /// JWT-SVID) and the workload may speak to it; never faults.
    /// </summary>
    public void Begin(McpExchange exchange)
    {
        if (!exchange.Grant.AllowsServer || exchange.Server is not { } server)
        {
            return;
        }
        if (server.Credential is { } binding)
        {
            // Per workload: on the MCP leg the caller's own lease; on the egress leg the lease of the agent the calling
            // process serves (per calling agent), which only a per-workload launched server's calls name.
            var holder = !binding.PerWorkload ? null : exchange.IsEgress ? exchange.OnBehalfOf : exchange.Workload;
            exchange.CredentialLookup = binding.PerWorkload && holder is null
                ? Task.FromResult(new CredentialResult(null, "a per-agent credential needs the agent the call is for: only a per-workload launched server's calls name one"))
                : cache.GetCredentialAsync(ICredentialLeaseGrain.KeyFor(server.Name, holder?.ToString()));
        }
        else if (server.AgentJwtAudience is { } audience)
        {
            exchange.CredentialLookup = agentJwts.GetAsync(exchange.Workload!, audience);
        }
    }

    public async ValueTask<bool> LeaseAsync(McpExchange exchange)
    {
        if (exchange.Server!.Credential is null && exchange.Server.AgentJwtAudience is null)
        {
            return true;
        }
        if (exchange.CredentialLookup is null)
        {
            Begin(exchange);
        }
        var result = await exchange.CredentialLookup!;
        if (result.Credential is { } credential)
        {
            exchange.Credential = credential;
            return true;
        }
        LogCredentialUnavailable(logger, exchange.Server.Name, result.Error);
        await Refusals.RefuseAsync(exchange, ReasonCodes.CredentialUnavailable, $"No credential could be leased for '{exchange.Server.Name}'; the call is denied.",
            decision: Decision.Deny(ReasonCodes.CredentialUnavailable, exchange.Grant.Version));
        return false;
    }

    [LoggerMessage(EventId = 2302, Level = LogLevel.Warning, Message = "No credential for server {Server}: {Error}; denying")]
    private static partial void LogCredentialUnavailable(ILogger logger, string server, string? error);
}
