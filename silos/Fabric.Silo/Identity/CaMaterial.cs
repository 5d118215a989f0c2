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

/// <summary>
/// One root of a trust domain's CA, decrypted, with the JWT-SVID signing key (ECDSA P-256) that lives and rotates
/// with it: a root's X.509 key signs certificates only, its JWT key tokens only. ToString hides both keys.
/// </summary>
public sealed record CaRoot(
    string CertificatePem,
    string PrivateKeyPem,
    CaRootState State,
    DateTimeOffset CreatedAt,
    DateTimeOffset? RetireAfter = null,
    DateTimeOffset? MaxLeafExpiry = null,
    string? JwtPrivateKeyPem = null)
{
    /// <summary>A new root of <paramref name="state"/>, with a fresh JWT key.</summary>
    public static CaRoot Create(CaMaterial created, CaRootState state, DateTimeOffset now) =>
        new(created.CertificatePem, created.PrivateKeyPem, state, now, JwtPrivateKeyPem: NewJwtKey());

    public static string NewJwtKey()
    {
        using var key = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
        return key.ExportPkcs8PrivateKeyPem();
    }

    /// <summary>The JWT key's public half as a bundle publishes it; its kid is derived from the key (base64url of 16 bytes of its SHA-256).</summary>
    public JwtKey? JwtPublicKey
    {
        get
        {
            if (JwtPrivateKeyPem is null)
            {
                return null;
            }
            using var key = System.Security.Cryptography.ECDsa.Create();
            key.ImportFromPem(JwtPrivateKeyPem);
            var spki = key.ExportSubjectPublicKeyInfo();
            var kid = System.Buffers.Text.Base64Url.EncodeToString(System.Security.Cryptography.SHA256.HashData(spki).AsSpan(0, 16));
            return new JwtKey(kid, spki);
        }
    }

    public string Sha256
    {
        get
        {
            using var certificate = X509Certificate2.CreateFromPem(CertificatePem);
            return EdgeBootstrap.CaPin(certificate);
        }
    }

    public override string ToString() => $"CaRoot({State}, created={CreatedAt:O}, keys=***)";
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

    /// <summary>The JWT-SVID keys of every root in the bundle (a token signed before a rotation validates until it expires).</summary>
    public IReadOnlyList<JwtKey> JwtKeys => [.. Roots.Select(r => r.JwtPublicKey).OfType<JwtKey>()];

    public override string ToString() => $"CaSet({TrustDomain}, sequence={Sequence}, roots={Roots.Count})";
}
