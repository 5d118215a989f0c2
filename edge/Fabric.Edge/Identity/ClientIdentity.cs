using System.Security.Cryptography.X509Certificates;

namespace Fabric.Edge.Identity;

/// <summary>
/// The agent's identity, proven by its X.509-SVID in the mTLS handshake. The handshake callback
/// rejects any certificate that is not a valid SVID under the trust bundle of its own trust
/// domain; <see cref="SvidAuthenticationHandler"/> reads the SPIFFE ID once per connection and keeps it with the connection.
/// </summary>
internal static class ClientIdentity
{
    /// <summary>Kestrel's client certificate validation: the X509-SVID rules, not WebPKI.</summary>
    public static bool Validate(NodeIdentity identity, TimeProvider time, X509Certificate2 certificate, X509Chain? chain)
    {
        var intermediates = chain?.ChainPolicy.ExtraStore;
        return X509SvidValidator.Validate(certificate, intermediates, identity.Bundles, time.GetUtcNow()).IsValid;
    }

    /// <summary>
    /// The SPIFFE ID of the connection's client, or null when it has none (never past the handshake). Validated again
    /// rather than only parsed: the bundle may have rotated since the handshake. The authentication scheme calls this
    /// once per connection and keeps the answer with it.
    /// </summary>
    public static SpiffeId? Read(HttpContext context, NodeIdentity identity, TimeProvider time) =>
        context.Connection.ClientCertificate is { } certificate
            ? X509SvidValidator.Validate(certificate, null, identity.Bundles, time.GetUtcNow()).Id
            : null;
}
