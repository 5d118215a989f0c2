using System.Security.Cryptography.X509Certificates;
using Fabric.Contracts.Identity;

namespace Fabric.Silo.Identity;

/// <summary>
/// The signing material of one trust domain's CA: the root that signs (certificate and PKCS#8 key, PEM) and
/// the bundle leaves are handed out with (every root currently trusted: during a rotation, two).
/// ToString hides the key.
/// </summary>
public sealed record CaMaterial(string TrustDomain, string CertificatePem, string PrivateKeyPem)
{
    private readonly string? _bundlePem;

    /// <summary>Every trusted root as PEM; just the signing root unless set.</summary>
    public string BundlePem { get => _bundlePem ?? CertificatePem; init => _bundlePem = value; }

    public override string ToString() => $"CaMaterial(trustDomain={TrustDomain}, key=***)";
}

public enum CaRootState
{
    /// <summary>Signs every new SVID.</summary>
    Active,
    /// <summary>Published in the bundle, not signing yet: the first half of a rotation.</summary>
    Prepared,
    /// <summary>Signs nothing any more; stays in the bundle until the last SVID it signed has expired.</summary>
    Retiring,
}

/// <summary>One root of a trust domain's CA, decrypted. ToString hides the key.</summary>
public sealed record CaRoot(
    string CertificatePem,
    string PrivateKeyPem,
    CaRootState State,
    DateTimeOffset CreatedAt,
    DateTimeOffset? RetireAfter = null,
    DateTimeOffset? MaxLeafExpiry = null)
{
    public string Sha256
    {
        get
        {
            using var certificate = X509Certificate2.CreateFromPem(CertificatePem);
            return EdgeBootstrap.CaPin(certificate);
        }
    }

    public override string ToString() => $"CaRoot({State}, created={CreatedAt:O}, key=***)";
}

/// <summary>
/// A trust domain's CA as the store holds it: its roots and a bundle sequence number that only grows (every
/// change of the root set, or of which root signs, increments it).
/// </summary>
public sealed record CaSet(string TrustDomain, long Sequence, IReadOnlyList<CaRoot> Roots)
{
    public CaRoot Active => Roots.First(r => r.State == CaRootState.Active);

    /// <summary>Every root in the bundle, the active one first.</summary>
    public string BundlePem => string.Concat(Roots.OrderBy(r => r.State == CaRootState.Active ? 0 : 1)
        .Select(r => r.CertificatePem.EndsWith('\n') ? r.CertificatePem : r.CertificatePem + "\n"));

    public CaMaterial Signing => new(TrustDomain, Active.CertificatePem, Active.PrivateKeyPem) { BundlePem = BundlePem };

    public override string ToString() => $"CaSet({TrustDomain}, sequence={Sequence}, roots={Roots.Count})";
}
