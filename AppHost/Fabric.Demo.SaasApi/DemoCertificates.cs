using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

/// <summary>
/// A CA of its own and a localhost / 127.0.0.1 server certificate under it: what the demo SaaS API serves, and the tests'
/// stand-in for one (linked into the edge tests), so an egress target's <c>tls.caFile</c> is exercised as in production.
/// </summary>
internal static class DemoCertificates
{
    /// <summary>A fresh CA (its certificate written to <paramref name="caFile"/>, valid for <paramref name="lifetime"/>) and a server certificate under it.</summary>
    public static X509Certificate2 Create(string caFile, string caName, string serverName, TimeSpan lifetime)
    {
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest(caName, caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign, true));
        var now = DateTimeOffset.UtcNow;
        using var ca = caRequest.CreateSelfSigned(now.AddMinutes(-5), now + lifetime);
        Directory.CreateDirectory(Path.GetDirectoryName(caFile)!);
        File.WriteAllText(caFile, ca.ExportCertificatePem());

        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(serverName, key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName("localhost");
        san.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        // The leaf ends a day before the CA (at least a minute after it starts), as a renewal would keep it.
        var leafEnd = now + (lifetime > TimeSpan.FromDays(2) ? lifetime - TimeSpan.FromDays(1) : lifetime / 2);
        using var leaf = request.Create(ca, now.AddMinutes(-1), leafEnd, RandomNumberGenerator.GetBytes(8));
        return X509CertificateLoader.LoadPkcs12(leaf.CopyWithPrivateKey(key).Export(X509ContentType.Pfx), null);
    }
}
