using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Fabric.Contracts.Tests.Identity;

/// <summary>What a test leaf looks like; every knob defaults to a valid X509-SVID leaf.</summary>
internal sealed record LeafSpec
{
    public IReadOnlyList<string> Uris { get; init; } = ["spiffe://td-a/workload"];
    /// <summary>Null leaves the subjectAltName extension out.</summary>
    public byte[]? RawSubjectAltName { get; init; }
    /// <summary>Null leaves basicConstraints out.</summary>
    public bool? IsCa { get; init; } = false;
    /// <summary>Null leaves key usage out.</summary>
    public X509KeyUsageFlags? KeyUsage { get; init; } = X509KeyUsageFlags.DigitalSignature;
    public TimeSpan NotBeforeOffset { get; init; } = TimeSpan.FromHours(-1);
    public TimeSpan NotAfterOffset { get; init; } = TimeSpan.FromHours(1);
}

/// <summary>
/// Builds test certificates with <see cref="CertificateRequest"/>, independently of the production
/// issuer: the subjectAltName is DER-encoded here from raw strings, so tests can put anything in it.
/// All validity windows are relative to <see cref="Now"/>.
/// </summary>
internal static class TestCertificates
{
    public static readonly DateTimeOffset Now = new(2030, 1, 15, 12, 0, 0, TimeSpan.Zero);

    /// <summary>A CA for <paramref name="trustDomain"/>: self-signed root, or an intermediate under <paramref name="issuer"/>.</summary>
    public static X509Certificate2 CreateCa(string trustDomain, X509Certificate2? issuer = null, string? subjectName = null)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(
            subjectName ?? $"CN=CA {trustDomain} {Guid.NewGuid():N}, O=Test", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        request.CertificateExtensions.Add(new X509Extension("2.5.29.17", EncodeUris($"spiffe://{trustDomain}"), false));
        var notBefore = Now.AddDays(-30);
        var notAfter = Now.AddDays(30);
        if (issuer is null)
        {
            return request.CreateSelfSigned(notBefore, notAfter);
        }
        using var certificate = request.Create(issuer, notBefore, notAfter, RandomNumberGenerator.GetBytes(8));
        return certificate.CopyWithPrivateKey(key);
    }

    public static X509Certificate2 CreateLeaf(X509Certificate2 issuer, LeafSpec spec)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = LeafRequest(spec, key);
        // Public only: the validator needs no key, and .NET refuses to attach an ECDsa key to a
        // certificate whose key usage is keyAgreement only (it reads that as an ECDH key).
        return request.Create(
            issuer, Now + spec.NotBeforeOffset, Now + spec.NotAfterOffset, RandomNumberGenerator.GetBytes(16));
    }

    public static X509Certificate2 CreateSelfSignedLeaf(LeafSpec spec)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        return LeafRequest(spec, key).CreateSelfSigned(Now + spec.NotBeforeOffset, Now + spec.NotAfterOffset);
    }

    /// <summary>GeneralNames with one uniformResourceIdentifier [6] per string, bytes as given.</summary>
    public static byte[] EncodeUris(params string[] uris)
    {
        var writer = new AsnWriter(AsnEncodingRules.DER);
        using (writer.PushSequence())
        {
            foreach (var uri in uris)
            {
                writer.WriteCharacterString(UniversalTagNumber.IA5String, uri, new Asn1Tag(TagClass.ContextSpecific, 6));
            }
        }
        return writer.Encode();
    }

    /// <summary>GeneralNames with only a dNSName [2].</summary>
    public static byte[] EncodeDnsName(string name)
    {
        var writer = new AsnWriter(AsnEncodingRules.DER);
        using (writer.PushSequence())
        {
            writer.WriteCharacterString(UniversalTagNumber.IA5String, name, new Asn1Tag(TagClass.ContextSpecific, 2));
        }
        return writer.Encode();
    }

    private static CertificateRequest LeafRequest(LeafSpec spec, ECDsa key)
    {
        var request = new CertificateRequest("O=SPIFFE, CN=test leaf", key, HashAlgorithmName.SHA256);
        if (spec.IsCa is { } isCa)
        {
            request.CertificateExtensions.Add(new X509BasicConstraintsExtension(isCa, false, 0, true));
        }
        if (spec.KeyUsage is { } usage)
        {
            request.CertificateExtensions.Add(new X509KeyUsageExtension(usage, true));
        }
        var subjectAltName = spec.RawSubjectAltName ?? (spec.Uris.Count > 0 ? EncodeUris([.. spec.Uris]) : null);
        if (subjectAltName is not null)
        {
            request.CertificateExtensions.Add(new X509Extension("2.5.29.17", subjectAltName, false));
        }
        return request;
    }
}
