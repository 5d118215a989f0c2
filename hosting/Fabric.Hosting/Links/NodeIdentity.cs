using System.Security.Cryptography.X509Certificates;
using Fabric.Contracts.Identity;

namespace Fabric.Hosting.Links;

/// <summary>
/// A fabric node's own X.509-SVID (an edge's or a silo's: its serving certificate, its client certificate
/// on Orleans links and towards upstreams that pin a SPIFFE ID) and the trust bundles it validates peers
/// against. Both are swapped atomically on renewal and on bundle pushes; readers never lock, so a TLS
/// handshake always sees one consistent certificate and bundle.
/// </summary>
public sealed class NodeIdentity
{
    private volatile Snapshot? _current;

    public sealed record Snapshot(SpiffeId Id, X509Certificate2 Certificate, TrustBundleSet Bundles, DateTimeOffset ExpiresAt);

    /// <summary>True once the first SVID and bundle are in place.</summary>
    public bool IsReady => _current is not null;

    public Snapshot Current => _current ?? throw new InvalidOperationException("this node has no SVID yet");

    public TrustBundleSet Bundles => _current?.Bundles ?? TrustBundleSet.Empty;

    /// <summary>Raised after every swap (renewal, bundle change).</summary>
    public event Action<Snapshot>? Changed;

    public void Set(Snapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        _current = snapshot;
        Changed?.Invoke(snapshot);
    }
}
