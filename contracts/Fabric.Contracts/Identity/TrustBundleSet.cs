using System.Collections.Immutable;
using System.Security.Cryptography.X509Certificates;

namespace Fabric.Contracts.Identity;

/// <summary>
/// The X.509 trust bundles an edge or silo trusts, one per trust domain: trust domain name → root
/// certificates. An SVID is checked against the bundle of its own ID's trust domain only
/// (SPIFFE-ID §3.1: an SVID is valid if signed by an authority within the ID's trust domain), so
/// a CA of one trust domain can never vouch for an ID of another.
/// </summary>
/// <remarks>
/// Immutable: <see cref="With"/> returns a new set, and collections go in and come out as copies,
/// so a set can be swapped atomically into a snapshot and shared across handshakes. The
/// certificates themselves are shared, not cloned; whoever built the set owns their lifetime.
/// </remarks>
public sealed class TrustBundleSet
{
    private readonly ImmutableDictionary<string, X509Certificate2Collection> _bundles;

    private TrustBundleSet(ImmutableDictionary<string, X509Certificate2Collection> bundles)
    {
        _bundles = bundles;
        TrustDomains = [.. bundles.Keys.Order(StringComparer.Ordinal)];
    }

    public static TrustBundleSet Empty { get; } =
        new(ImmutableDictionary.Create<string, X509Certificate2Collection>(StringComparer.Ordinal));

    /// <summary>The trust domains that have a bundle, in ordinal order.</summary>
    public IReadOnlyCollection<string> TrustDomains { get; }

    /// <summary>A set holding one bundle read from the CERTIFICATE blocks of <paramref name="pem"/>.</summary>
    public static TrustBundleSet FromPem(string trustDomain, string pem) =>
        Empty.With(trustDomain, SvidPem.LoadCertificates(pem));

    /// <summary>A new set in which <paramref name="trustDomain"/> has exactly <paramref name="roots"/>.</summary>
    public TrustBundleSet With(string trustDomain, X509Certificate2Collection roots)
    {
        ArgumentNullException.ThrowIfNull(trustDomain);
        ArgumentNullException.ThrowIfNull(roots);
        if (!SpiffeId.IsValidTrustDomain(trustDomain))
        {
            throw new ArgumentException($"'{trustDomain}' is not a valid trust domain name", nameof(trustDomain));
        }
        if (roots.Count == 0)
        {
            throw new ArgumentException($"the trust bundle of '{trustDomain}' has no certificates", nameof(roots));
        }
        return new TrustBundleSet(_bundles.SetItem(trustDomain, [.. roots]));
    }

    /// <summary>A new set without <paramref name="trustDomain"/> (a federation removed).</summary>
    public TrustBundleSet Without(string trustDomain) => new(_bundles.Remove(trustDomain));

    /// <summary>A copy of the roots of <paramref name="trustDomain"/>, if the set has a bundle for it.</summary>
    public bool TryGet(string trustDomain, [MaybeNullWhen(false)] out X509Certificate2Collection roots)
    {
        ArgumentNullException.ThrowIfNull(trustDomain);
        if (_bundles.TryGetValue(trustDomain, out var bundle))
        {
            roots = [.. bundle];
            return true;
        }
        roots = null;
        return false;
    }
}
