using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Connections.Features;

namespace Fabric.Edge.Identity;

/// <summary>
/// The agent's identity, proven by its X.509-SVID in the mTLS handshake. The handshake callback
/// rejects any certificate that is not a valid SVID under the trust bundle of its own trust
/// domain; the request path reads the SPIFFE ID once per connection and keeps it with the connection.
/// </summary>
internal static class ClientIdentity
{
    private const string ItemKey = "fabric.workload";

    /// <summary>Kestrel's client certificate validation: the X509-SVID rules, not WebPKI.</summary>
    public static bool Validate(EdgeIdentity identity, TimeProvider time, X509Certificate2 certificate, X509Chain? chain)
    {
        var intermediates = chain?.ChainPolicy.ExtraStore;
        return X509SvidValidator.Validate(certificate, intermediates, identity.Bundles, time.GetUtcNow()).IsValid;
    }

    /// <summary>The SPIFFE ID of the connection's client, or null when it has none (never past the handshake).</summary>
    public static SpiffeId? Get(HttpContext context, EdgeIdentity identity, TimeProvider time)
    {
        var items = context.Features.Get<IConnectionItemsFeature>()?.Items;
        if (items is not null && items.TryGetValue(ItemKey, out var cached))
        {
            return cached as SpiffeId;
        }
        var certificate = context.Connection.ClientCertificate;
        if (certificate is null)
        {
            return null;
        }
        // Validated again rather than only parsed: the bundle may have rotated since the handshake,
        // and this runs once per connection.
        var validation = X509SvidValidator.Validate(certificate, null, identity.Bundles, time.GetUtcNow());
        if (items is not null)
        {
            items[ItemKey] = validation.Id;
        }
        return validation.Id;
    }

}
