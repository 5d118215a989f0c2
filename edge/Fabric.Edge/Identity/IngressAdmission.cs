using Fabric.Contracts.Policy;
using Fabric.Contracts.Servers;
using Fabric.Edge.Caching;
using Fabric.Edge.Hosting;
using Fabric.Edge.Pipeline;
using Microsoft.Extensions.Options;

namespace Fabric.Edge.Identity;

/// <summary>
/// Step 1 for a call a federated fabric's edge carries in (<c>Fabric:Edge:Ingress:Enabled</c>). The handshake proved
/// the transport: an edge of another trust domain, validated with that domain's own bundle. The request must then name
/// its agent with a JWT-SVID that
/// <list type="bullet">
/// <item>validates with the JWT keys of the agent's trust domain, which must be the carrying edge's own (an edge of
/// <c>a.test</c> vouches for agents of <c>a.test</c>, never of <c>b.test</c> or a third domain);</item>
/// <item>has as audience the called server's SPIFFE ID: its pinned <c>identity</c>, else
/// <c>spiffe://&lt;this td&gt;/mcp/&lt;name&gt;</c> (a token for one server opens no other);</item>
/// <item>names a workload, never a fabric component.</item>
/// </list>
/// The call is then decided on the agent (policies of this fabric that name its domain), as a bearer caller
/// (<c>auth: mtls</c> rules allow it nothing), and audited with both identities. Anything else: 401
/// <c>invalid-jwt-svid</c>, audited under the carrying edge's ID.
/// </summary>
internal sealed class IngressAdmission(EdgeCache cache, NodeIdentity identity, JwtAuthorities jwt, EdgeJoin join, IOptions<EdgeOptions> options, TimeProvider time)
{
    /// <summary>True when <paramref name="transport"/> is an edge of a federated trust domain and this edge admits those.</summary>
    public bool Carries(SpiffeId transport) =>
        options.Value.Ingress.Enabled
        && transport.TrustDomain != identity.Current.Id.TrustDomain
        && FabricNodes.Is(transport, transport.TrustDomain, FabricRole.Edge);

    /// <summary>The SPIFFE ID a JWT-SVID must have as audience to reach <paramref name="server"/> here.</summary>
    public static SpiffeId AudienceOf(McpServerDefinition? server, string name, string trustDomain) =>
        server?.Identity ?? SpiffeId.FromParts(trustDomain, "mcp/" + name);

    /// <summary>Replaces the exchange's workload by the agent the token names, or refuses (and returns false).</summary>
    public async ValueTask<bool> AdmitAsync(McpExchange exchange)
    {
        var transport = exchange.Workload!;
        var error = await ValidateAsync(exchange, transport);
        if (error is not null)
        {
            exchange.Refuse(ReasonCodes.InvalidJwtSvid);
            exchange.Context.Response.Headers.WWWAuthenticate = "Bearer error=\"invalid_token\"";
            await Refusals.WriteAsync(exchange, ReasonCodes.InvalidJwtSvid, $"'{transport}' carried no admissible JWT-SVID for an agent: {error}");
            return false;
        }
        return true;
    }

    private async ValueTask<string?> ValidateAsync(McpExchange exchange, SpiffeId transport)
    {
        if (!McpServerValidator.IsValidName(exchange.ServerName))
        {
            return "no server of this fabric has that name";
        }
        var ownDomain = identity.Current.Id.TrustDomain;
        var server = await cache.GetServerAsync(exchange.ServerName);
        var audience = AudienceOf(server, exchange.ServerName, ownDomain);
        var validation = SvidAuthenticationHandler.ValidateBearer(exchange.Context.Request, jwt.Current, audience.ToString(), time.GetUtcNow());
        if (!validation.IsValid)
        {
            return validation.Error;
        }
        var agent = validation.Id;
        if (agent.TrustDomain != transport.TrustDomain)
        {
            return $"the token names '{agent}', but an edge of '{transport.TrustDomain}' vouches only for its own trust domain";
        }
        if (agent.IsReserved)
        {
            return $"the token names '{agent}', a fabric component, not an agent";
        }
        exchange.Via = transport;
        exchange.Workload = agent;
        exchange.Bearer = true;
        exchange.BundleSequence = join.SequenceOf(agent.TrustDomain);
        return null;
    }
}
