using System.Security.Cryptography.X509Certificates;

namespace Fabric.Contracts.Identity;

/// <summary>Loads SVIDs and trust bundles from the PEM that the CA hands out.</summary>
public static class SvidPem
{
    /// <summary>
    /// The certificate (first CERTIFICATE block of <paramref name="certificatePem"/>) with its private
    /// key (PKCS#8 "PRIVATE KEY"), ready to serve as an SslStream / Kestrel server or client certificate.
    /// </summary>
    /// <remarks>
    /// On Linux and macOS the ephemeral key that <see cref="X509Certificate2.CreateFromPem(ReadOnlySpan{char}, ReadOnlySpan{char})"/>
    /// attaches works for TLS as is. Windows SChannel cannot use an ephemeral key, so there the pair
    /// round-trips through an in-memory PKCS#12. Throws <see cref="System.Security.Cryptography.CryptographicException"/>
    /// when the PEM is malformed or the key does not match the certificate.
    /// </remarks>
    public static X509Certificate2 LoadCertificate(string certificatePem, string privateKeyPem)
    {
        ArgumentNullException.ThrowIfNull(certificatePem);
        ArgumentNullException.ThrowIfNull(privateKeyPem);
        var certificate = X509Certificate2.CreateFromPem(certificatePem, privateKeyPem);
        if (!OperatingSystem.IsWindows())
        {
            return certificate;
        }
        using (certificate)
        {
            return X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pkcs12), password: null);
        }
    }

    /// <summary>Every CERTIFICATE block in <paramref name="pem"/> (a bundle or a chain), in order.</summary>
    public static X509Certificate2Collection LoadCertificates(string pem)
    {
        ArgumentNullException.ThrowIfNull(pem);
        var certificates = new X509Certificate2Collection();
        certificates.ImportFromPem(pem);
        return certificates;
    }
}
