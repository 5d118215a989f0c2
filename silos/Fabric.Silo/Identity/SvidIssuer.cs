using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Fabric.Contracts.Identity;

namespace Fabric.Silo.Identity;

/// <summary>
/// Mints a trust domain's root and the X509-SVIDs it signs (spiffe/spiffe standards/X509-SVID.md).
/// Pure: no Orleans, no clock; the caller passes <c>now</c>. Every SVID it returns has passed
/// <see cref="X509SvidValidator"/>, the validator the edge runs on client certificates.
/// </summary>
public static class SvidIssuer
{
    /// <summary>Leaves start this far in the past so a peer whose clock lags a little accepts them.</summary>
    public static readonly TimeSpan ClockSkew = TimeSpan.FromMinutes(1);

    private const string ServerAuthOid = "1.3.6.1.5.5.7.3.1";
    private const string ClientAuthOid = "1.3.6.1.5.5.7.3.2";

    /// <summary>A self-signed ECDSA P-256 root for <paramref name="trustDomain"/>.</summary>
    /// <remarks>
    /// X509-SVID §3.2 and §4: a signing certificate has cA=true and keyCertSign (+ cRLSign), key usage
    /// critical, and SHOULD itself be an SVID whose SPIFFE ID has no path, so it carries
    /// <c>spiffe://&lt;td&gt;</c>. pathLenConstraint=0: this CA signs leaves only, so a leaked leaf
    /// key or a mis-issued intermediate can never extend the chain.
    /// </remarks>
    public static CaMaterial CreateRoot(string trustDomain, DateTimeOffset now, TimeSpan validity)
    {
        ArgumentNullException.ThrowIfNull(trustDomain);
        if (!SpiffeId.IsValidTrustDomain(trustDomain))
        {
            throw new ArgumentException($"'{trustDomain}' is not a valid trust domain name", nameof(trustDomain));
        }
        if (validity <= ClockSkew)
        {
            throw new ArgumentException($"the CA validity must be more than {ClockSkew}", nameof(validity));
        }
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var subject = new X500DistinguishedNameBuilder();
        subject.AddOrganizationName("SPIFFE");
        subject.AddCommonName($"Fabric CA {trustDomain}");
        var request = new CertificateRequest(subject.Build(), key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(
            certificateAuthority: true, hasPathLengthConstraint: true, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(
            X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, critical: true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        request.CertificateExtensions.Add(SvidSubjectAltName.Create(SpiffeId.FromParts(trustDomain, ""), [], []));
        using var root = request.CreateSelfSigned(now - ClockSkew, now + validity);
        return new CaMaterial(trustDomain, root.ExportCertificatePem(), key.ExportPkcs8PrivateKeyPem());
    }

    /// <summary>
    /// A leaf X509-SVID with a fresh ECDSA P-256 key. Throws <see cref="ArgumentException"/> for a
    /// request the CA refuses (see <see cref="SvidRequestRules"/>) and <see cref="InvalidOperationException"/>
    /// when the CA is outside its validity at <paramref name="now"/>.
    /// </summary>
    public static IssuedSvid Issue(CaMaterial ca, SvidRequest request, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(request);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var signed = Sign(ca, request, new PublicKey(key), now);
        return new IssuedSvid
        {
            CertificatePem = signed.CertificatePem,
            PrivateKeyPem = key.ExportPkcs8PrivateKeyPem(),
            BundlePem = signed.BundlePem,
            ExpiresAt = signed.ExpiresAt,
        };
    }

    /// <summary>
    /// A leaf X509-SVID for the key of a PKCS#10 request (PEM) whose private key never left its holder: the
    /// request's signature proves possession; only its public key is used (the ID, names and lifetime come
    /// from <paramref name="request"/>, never from the CSR). ECDSA P-256 or P-384 keys only.
    /// </summary>
    public static SignedSvid SignCsr(CaMaterial ca, SvidRequest request, string csrPem, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(csrPem);
        CertificateRequest csr;
        try
        {
            // Default options verify the CSR's self-signature: proof that the caller holds the private key.
            csr = CertificateRequest.LoadSigningRequestPem(csrPem, HashAlgorithmName.SHA256, CertificateRequestLoadOptions.Default);
        }
        catch (CryptographicException ex)
        {
            throw new ArgumentException($"the CSR is not a valid, self-signed PKCS#10 request: {ex.Message}", nameof(csrPem), ex);
        }
        using (var ecdsa = csr.PublicKey.GetECDsaPublicKey())
        {
            var curve = ecdsa?.ExportParameters(false).Curve.Oid.Value;
            if (curve is not (NistP256Oid or NistP384Oid))
            {
                throw new ArgumentException("the CSR's key must be ECDSA on P-256 or P-384", nameof(csrPem));
            }
        }
        return Sign(ca, request, csr.PublicKey, now);
    }

    private const string NistP256Oid = "1.2.840.10045.3.1.7";
    private const string NistP384Oid = "1.3.132.0.34";

    private static SignedSvid Sign(CaMaterial ca, SvidRequest request, PublicKey publicKey, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(ca);
        ArgumentNullException.ThrowIfNull(request);
        var id = SvidRequestRules.CheckSpiffeId(request.SpiffeId, ca.TrustDomain);
        var ttl = SvidRequestRules.CheckTtl(request.Ttl);
        var dnsNames = SvidRequestRules.CheckDnsNames(request.DnsNames);
        var ipAddresses = SvidRequestRules.CheckIpAddresses(request.IpAddresses);

        using var caCertificate = X509Certificate2.CreateFromPem(ca.CertificatePem, ca.PrivateKeyPem);
        var caNotBefore = AsInstant(caCertificate.NotBefore);
        var caNotAfter = AsInstant(caCertificate.NotAfter);
        if (now < caNotBefore || now >= caNotAfter)
        {
            throw new InvalidOperationException(
                $"the CA of '{ca.TrustDomain}' is valid from {caNotBefore:O} to {caNotAfter:O}, not at {now:O}");
        }
        // Never outlive the CA: a leaf past its root's notAfter fails path validation anyway.
        var notBefore = Max(now - ClockSkew, caNotBefore);
        var notAfter = Min(now + ttl, caNotAfter);

        var subject = new X500DistinguishedNameBuilder();
        subject.AddOrganizationName("SPIFFE");
        var leafRequest = new CertificateRequest(subject.Build(), publicKey, HashAlgorithmName.SHA256);
        // X509-SVID §4.1: cA=false. §4.3: key usage critical, digitalSignature only.
        // §4.4: EKU with serverAuth and clientAuth. §2: exactly one URI SAN, plus any DNS/IP SANs.
        leafRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(
            certificateAuthority: false, hasPathLengthConstraint: false, pathLengthConstraint: 0, critical: true));
        leafRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: true));
        leafRequest.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [new Oid(ServerAuthOid), new Oid(ClientAuthOid)], critical: false));
        leafRequest.CertificateExtensions.Add(SvidSubjectAltName.Create(id, dnsNames, ipAddresses));
        leafRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(leafRequest.PublicKey, critical: false));
        leafRequest.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(
            caCertificate, includeKeyIdentifier: true, includeIssuerAndSerial: false));

        using var leaf = leafRequest.Create(caCertificate, notBefore, notAfter, NewSerialNumber());

        // Validate what you mint (CONVENTIONS, "Security code"): the same checks the edge applies.
        using var root = X509CertificateLoader.LoadCertificate(caCertificate.RawData);
        var bundles = TrustBundleSet.Empty.With(ca.TrustDomain, [root]);
        var validation = X509SvidValidator.ValidateExpected(leaf, null, bundles, now, id);
        if (!validation.IsValid)
        {
            throw new InvalidOperationException($"the CA minted an SVID that fails validation: {validation.Error}");
        }
        return new SignedSvid(leaf.ExportCertificatePem(), ca.BundlePem, AsInstant(leaf.NotAfter));
    }

    // 16 random bytes, top bit clear (positive, RFC 5280 §4.1.2.2) and second-highest bit set so
    // the DER INTEGER is always exactly 16 bytes: 126 bits of entropy, well within the 20-octet cap.
    private static byte[] NewSerialNumber()
    {
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] = (byte)((serial[0] & 0x7F) | 0x40);
        return serial;
    }

    private static DateTimeOffset AsInstant(DateTime local) => new(local.ToUniversalTime(), TimeSpan.Zero);

    private static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;

    private static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;
}

/// <summary>A leaf certificate signed for a key its holder kept, with the bundle it chains to; all public.</summary>
public sealed record SignedSvid(string CertificatePem, string BundlePem, DateTimeOffset ExpiresAt);
