using System.Security.Cryptography.X509Certificates;

namespace Fabric.Demo.Agent.Identity;

/// <summary>
/// The agent's X.509-SVID with its private key, any intermediates, and the trust bundle it uses to
/// verify the edge. Loaded from the PEM that POST /v1/svids returns.
/// </summary>
public sealed class AgentSvid : IDisposable
{
    private AgentSvid(X509Certificate2 certificate, X509Certificate2Collection intermediates,
        X509Certificate2Collection bundle, DateTimeOffset expiresAt)
    {
        Certificate = certificate;
        Intermediates = intermediates;
        Bundle = bundle;
        ExpiresAt = expiresAt;
    }

    public X509Certificate2 Certificate { get; }

    public X509Certificate2Collection Intermediates { get; }

    public X509Certificate2Collection Bundle { get; }

    public DateTimeOffset ExpiresAt { get; }

    public static AgentSvid FromPem(string certificatePem, string privateKeyPem, string bundlePem, DateTimeOffset expiresAt)
    {
        // CreateFromPem takes the first certificate (the leaf) and pairs it with the key; the rest of
        // the PEM, if any, are intermediates the TLS handshake must send along.
        using var ephemeral = X509Certificate2.CreateFromPem(certificatePem, privateKeyPem);
        // Round-trip through PKCS#12: an ephemeral key works for SslStream on Linux, not on Windows.
        var leaf = X509CertificateLoader.LoadPkcs12(ephemeral.Export(X509ContentType.Pkcs12), password: null);

        var chain = new X509Certificate2Collection();
        chain.ImportFromPem(certificatePem);
        var intermediates = new X509Certificate2Collection();
        foreach (var certificate in chain)
        {
            if (certificate.Thumbprint != leaf.Thumbprint)
            {
                intermediates.Add(certificate);
            }
        }

        var bundle = new X509Certificate2Collection();
        bundle.ImportFromPem(bundlePem);
        if (bundle.Count == 0)
        {
            throw new InvalidOperationException("The trust bundle holds no certificate");
        }
        return new AgentSvid(leaf, intermediates, bundle, expiresAt);
    }

    public void Dispose()
    {
        Certificate.Dispose();
        foreach (var certificate in Intermediates)
        {
            certificate.Dispose();
        }
        foreach (var certificate in Bundle)
        {
            certificate.Dispose();
        }
    }
}
