using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Fabric.Contracts.Identity;

/// <summary>
/// Validates an X509-SVID presented for authentication (spiffe/spiffe standards/X509-SVID.md §5):
/// the SPIFFE-specific leaf rules of §5.2 and §2, then RFC 5280 path validation (§5.1) against the
/// bundle of the ID's own trust domain. The edge runs it on every client handshake; the CA runs it on
/// everything it mints. It never throws for a bad certificate: every failure is an error string.
/// </summary>
/// <remarks>
/// <code>
///  leaf ─► one subjectAltName, exactly one URI SAN ─► SpiffeId, non-root path
///       ─► basicConstraints cA false/absent ─► keyUsage: digitalSignature, no keyCertSign/cRLSign
///       ─► now within notBefore..notAfter ─► chain to bundle[ID's trust domain] at now
/// </code>
/// </remarks>
public static class X509SvidValidator
{
    private const string BasicConstraintsOid = "2.5.29.19";
    private const string KeyUsageOid = "2.5.29.15";

    public static SvidValidation Validate(
        X509Certificate2 leaf, X509Certificate2Collection? intermediates, TrustBundleSet bundles, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(bundles);
        // A missing client certificate is bad input like any other, not a programming error.
        if (leaf is null)
        {
            return SvidValidation.Invalid("no certificate was presented");
        }
        try
        {
            var error = CheckLeaf(leaf, now, out var id) ?? CheckChain(leaf, intermediates, bundles, id!, now);
            return error is null ? SvidValidation.Valid(id!) : SvidValidation.Invalid(error);
        }
        catch (CryptographicException)
        {
            // Malformed extension contents surface lazily as CryptographicException.
            return SvidValidation.Invalid("certificate could not be parsed");
        }
    }

    /// <summary>
    /// <see cref="Validate"/>, and the SVID must name exactly <paramref name="expected"/>: pins the
    /// identity of an upstream, whose CA is trusted for its trust domain but not for every ID in it.
    /// </summary>
    public static SvidValidation ValidateExpected(
        X509Certificate2 leaf, X509Certificate2Collection? intermediates, TrustBundleSet bundles, DateTimeOffset now,
        SpiffeId expected)
    {
        ArgumentNullException.ThrowIfNull(expected);
        var result = Validate(leaf, intermediates, bundles, now);
        return !result.IsValid || result.Id == expected
            ? result
            : SvidValidation.Invalid($"certificate is for '{result.Id}', expected '{expected}'");
    }

    private static string? CheckLeaf(X509Certificate2 leaf, DateTimeOffset now, out SpiffeId? id)
    {
        id = null;
        X509Extension? subjectAltName = null;
        X509Extension? basicConstraints = null;
        X509Extension? keyUsage = null;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var extension in leaf.Extensions)
        {
            var oid = extension.Oid?.Value ?? string.Empty;
            // RFC 5280 §4.2: an extension appears at most once. A second subjectAltName could
            // otherwise smuggle a second URI SAN past a reader that looks at the first only.
            if (!seen.Add(oid))
            {
                return $"certificate repeats extension {oid}";
            }
            switch (oid)
            {
                case SvidSubjectAltName.Oid: subjectAltName = extension; break;
                case BasicConstraintsOid: basicConstraints = extension; break;
                case KeyUsageOid: keyUsage = extension; break;
            }
        }
        return CheckSpiffeId(subjectAltName, out id)
            ?? CheckBasicConstraints(basicConstraints)
            ?? CheckKeyUsage(keyUsage)
            ?? CheckValidity(leaf, now);
    }

    // X509-SVID §2 and §5.2: exactly one URI SAN, a SPIFFE ID with a non-root path (§3.1).
    private static string? CheckSpiffeId(X509Extension? subjectAltName, out SpiffeId? id)
    {
        id = null;
        var uris = new List<string>(1);
        if (subjectAltName is not null && !SvidSubjectAltName.TryReadUris(subjectAltName.RawData, uris))
        {
            return "certificate has a malformed subjectAltName extension";
        }
        if (uris.Count != 1)
        {
            return uris.Count == 0
                ? "certificate has no URI SAN; an X509-SVID has exactly one"
                : $"certificate has {uris.Count} URI SANs; an X509-SVID has exactly one";
        }
        if (!SpiffeId.TryParse(uris[0], out id, out var error))
        {
            return $"URI SAN is not a valid SPIFFE ID: {error}";
        }
        if (!id.IsWorkload)
        {
            var rootId = id;
            id = null;
            return $"SPIFFE ID '{rootId}' has no path; a leaf SVID needs a workload path";
        }
        return null;
    }

    // X509-SVID §4.1 and §5.2: a leaf has cA false (an absent extension means false, RFC 5280 §4.2.1.9).
    private static string? CheckBasicConstraints(X509Extension? extension)
    {
        if (extension is null)
        {
            return null;
        }
        var basicConstraints = new X509BasicConstraintsExtension(extension, extension.Critical);
        return basicConstraints.CertificateAuthority
            ? "certificate is a CA (basicConstraints cA=true); an X509-SVID leaf must not be"
            : null;
    }

    // X509-SVID §4.3 and §5.2: key usage is present, has digitalSignature, and neither keyCertSign
    // nor cRLSign. §4.3 also says it MUST be critical; that is an issuing rule the validation rules of
    // §5.2 do not repeat, and other validators (go-spiffe, SPIRE) do not enforce it, so neither do we.
    private static string? CheckKeyUsage(X509Extension? extension)
    {
        if (extension is null)
        {
            return "certificate has no key usage extension; an X509-SVID must have one";
        }
        var usages = new X509KeyUsageExtension(extension, extension.Critical).KeyUsages;
        if (usages.HasFlag(X509KeyUsageFlags.KeyCertSign))
        {
            return "certificate has keyCertSign key usage; an X509-SVID leaf must not";
        }
        if (usages.HasFlag(X509KeyUsageFlags.CrlSign))
        {
            return "certificate has cRLSign key usage; an X509-SVID leaf must not";
        }
        return usages.HasFlag(X509KeyUsageFlags.DigitalSignature)
            ? null
            : "certificate lacks digitalSignature key usage; an X509-SVID leaf must have it";
    }

    private static string? CheckValidity(X509Certificate2 leaf, DateTimeOffset now)
    {
        // NotBefore/NotAfter are local DateTimes; compare as instants.
        if (now < new DateTimeOffset(leaf.NotBefore.ToUniversalTime(), TimeSpan.Zero))
        {
            return "certificate is not yet valid";
        }
        return now > new DateTimeOffset(leaf.NotAfter.ToUniversalTime(), TimeSpan.Zero)
            ? "certificate has expired"
            : null;
    }

    // X509-SVID §5.1: RFC 5280 path validation, trusting only the bundle of the ID's trust domain.
    private static string? CheckChain(
        X509Certificate2 leaf, X509Certificate2Collection? intermediates, TrustBundleSet bundles, SpiffeId id,
        DateTimeOffset now)
    {
        if (!bundles.TryGet(id.TrustDomain, out var roots))
        {
            return $"no trust bundle for trust domain '{id.TrustDomain}'";
        }
        using var chain = new X509Chain();
        chain.ChainPolicy = new X509ChainPolicy
        {
            TrustMode = X509ChainTrustMode.CustomRootTrust,
            RevocationMode = X509RevocationMode.NoCheck,
            VerificationTime = now.UtcDateTime,
            VerificationTimeIgnored = false,
            // A presented certificate's AIA URL must never make the edge fetch anything (SSRF, and
            // no network I/O inside a handshake).
            DisableCertificateDownloads = true,
        };
        chain.ChainPolicy.CustomTrustStore.AddRange(roots);
        if (intermediates is not null)
        {
            chain.ChainPolicy.ExtraStore.AddRange(intermediates);
        }
        try
        {
            if (!chain.Build(leaf))
            {
                var flags = chain.ChainStatus.Length == 0
                    ? "unknown"
                    : string.Join(", ", chain.ChainStatus.Select(s => s.Status));
                return $"certificate does not chain to the trust bundle of '{id.TrustDomain}' ({flags})";
            }
            // A leaf that is itself a trust anchor proves nothing; roots are CA certificates.
            return chain.ChainElements.Count < 2
                ? $"certificate is itself in the trust bundle of '{id.TrustDomain}'"
                : null;
        }
        finally
        {
            DisposeChainCopies(chain, leaf, roots, intermediates);
        }
    }

    // Chain elements are fresh X509Certificate2 instances on Linux; free their native handles now
    // rather than on the finalizer thread, but never a certificate the caller or the bundle owns.
    private static void DisposeChainCopies(
        X509Chain chain, X509Certificate2 leaf, X509Certificate2Collection roots, X509Certificate2Collection? intermediates)
    {
        foreach (var element in chain.ChainElements)
        {
            var certificate = element.Certificate;
            if (!ReferenceEquals(certificate, leaf)
                && !Contains(roots, certificate)
                && (intermediates is null || !Contains(intermediates, certificate)))
            {
                certificate.Dispose();
            }
        }
    }

    private static bool Contains(X509Certificate2Collection collection, X509Certificate2 certificate)
    {
        foreach (var candidate in collection)
        {
            if (ReferenceEquals(candidate, certificate))
            {
                return true;
            }
        }
        return false;
    }
}
