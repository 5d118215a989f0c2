using Fabric.Contracts.Identity;
using Fabric.Silo.Identity;
using Microsoft.Extensions.Options;

namespace Fabric.Silo.Bootstrap;

/// <summary>Creates join tokens and the <see cref="JoinDocument"/> an edge needs with them (the API's and the local file's).</summary>
internal sealed class JoinTokenIssuer(IGrainFactory grains, CaStore store, IOptions<TrustDomainOptions> trustDomain)
{
    /// <summary>Where edges reach the bootstrap endpoint; set by <see cref="BootstrapServer"/> once it listens.</summary>
    public string BootstrapUrl { get; set; } = "";

    /// <summary>A token for <paramref name="edgeName"/> (null: any name), or why none is made.</summary>
    public async Task<(EdgeAdmission Status, JoinDocument? Document)> IssueAsync(string? edgeName, TimeSpan ttl)
    {
        var td = trustDomain.Value.TrustDomain;
        var created = await grains.Edges().CreateTokenAsync(edgeName, ttl);
        if (created.Status != EdgeAdmission.Admitted)
        {
            return (created.Status, null);
        }
        var pin = (await store.GetAsync(td)).Active.Sha256;
        return (EdgeAdmission.Admitted, new JoinDocument(created.TokenId!, created.Token!, edgeName, created.ExpiresAt, td, BootstrapUrl, pin));
    }
}
