using System.Collections.Concurrent;
using Fabric.Contracts.Grains;
using Fabric.Contracts.Servers;
using Fabric.Hosting;

namespace Fabric.Edge.Credentials;

/// <summary>
/// The JWT-SVIDs this edge sends on a calling agent's behalf to a federated fabric's ingress edge (servers with
/// <see cref="McpServerDefinition.AgentJwtAudience"/>): issued by this cluster's CA for (agent, audience), five minutes
/// each, and reused while more than half of that is left, so the warm path makes no cluster call. Only agents of this
/// edge's own trust domain get one: the CA signs for its own domain, and an edge vouches for no other.
/// <para>
/// The token is a bearer credential of the remote fabric: it is handed out as a <see cref="Credential"/> (header
/// <c>Authorization: Bearer …</c>) so the splice and the reflection mask treat it exactly like a leased secret.
/// </para>
/// </summary>
internal sealed class AgentJwts(IClusterClient cluster, ClusterCalls calls, NodeIdentity identity, TimeProvider time)
{
    public const string Source = "jwt-svid";

    /// <summary>How the token is injected (and so how the mask finds it in an answer).</summary>
    public static readonly InjectSpec Inject = new("Authorization", "Bearer " + InjectSpec.Placeholder);

    /// <summary>The lifetime asked for: the issue's bound for a hop to another fabric.</summary>
    public static readonly TimeSpan Ttl = TimeSpan.FromMinutes(5);

    private const int MaxCached = 10_000;

    private readonly ConcurrentDictionary<(SpiffeId Agent, SpiffeId Audience), Task<CredentialResult>> _issued = new();

    public Task<CredentialResult> GetAsync(SpiffeId agent, SpiffeId audience)
    {
        if (_issued.TryGetValue((agent, audience), out var cached) && Fresh(cached))
        {
            return cached;
        }
        return IssueAsync(agent, audience);
    }

    private bool Fresh(Task<CredentialResult> issued) =>
        issued.IsCompletedSuccessfully && issued.Result.Credential is { } credential && credential.ExpiresAt - time.GetUtcNow() > Ttl / 2;

    private async Task<CredentialResult> IssueAsync(SpiffeId agent, SpiffeId audience)
    {
        var ownDomain = identity.Current.Id.TrustDomain;
        if (agent.TrustDomain != ownDomain || agent.IsReserved)
        {
            return new CredentialResult(null, $"'{agent}' is not an agent of '{ownDomain}': this edge vouches only for its own trust domain");
        }
        IssuedJwtSvid issued;
        try
        {
            issued = await calls.RetryAsync(() => cluster.Authority(ownDomain).IssueJwtAsync(new JwtSvidRequest(agent.ToString(), [audience.ToString()], Ttl)));
        }
        catch (Exception ex) when (ClusterCalls.IsClusterFault(ex) || ex is ArgumentException)
        {
            return new CredentialResult(null, "no JWT-SVID could be issued for the agent: " + ex.GetType().Name);
        }
        var result = Task.FromResult(new CredentialResult(new Credential
        {
            LeaseId = Source,
            Source = Source,
            HeaderName = Inject.Header,
            HeaderValue = Inject.Render(issued.Token),
            ExpiresAt = issued.ExpiresAt,
        }, null));
        if (_issued.Count >= MaxCached)
        {
            foreach (var (key, entry) in _issued)
            {
                if (!Fresh(entry))
                {
                    _issued.TryRemove(key, out _);
                }
            }
        }
        if (_issued.Count < MaxCached)
        {
            _issued[(agent, audience)] = result;
        }
        return await result;
    }
}
