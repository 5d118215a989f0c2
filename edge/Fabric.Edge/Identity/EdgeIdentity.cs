using System.Security.Cryptography.X509Certificates;

namespace Fabric.Edge.Identity;

/// <summary>
/// The edge's own X.509-SVID (its serving certificate and its client certificate towards
/// upstreams that pin a SPIFFE ID) and the trust bundles it validates peers against. Both are
/// swapped atomically on renewal and on bundle pushes; readers never lock.
/// </summary>
public sealed class EdgeIdentity
{
    private volatile Snapshot? _current;

    public sealed record Snapshot(SpiffeId Id, X509Certificate2 Certificate, TrustBundleSet Bundles, DateTimeOffset ExpiresAt);

    /// <summary>True once the first SVID and bundle arrived from the cluster.</summary>
    public bool IsReady => _current is not null;

    public Snapshot Current => _current ?? throw new InvalidOperationException("the edge has no SVID yet");

    public TrustBundleSet Bundles => _current?.Bundles ?? TrustBundleSet.Empty;

    internal void Set(Snapshot snapshot) => _current = snapshot;
}
