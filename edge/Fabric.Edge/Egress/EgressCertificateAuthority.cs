using System.Collections.Concurrent;
using System.Net;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Fabric.Edge.Hosting;
using Microsoft.Extensions.Options;

namespace Fabric.Edge.Egress;

/// <summary>
/// The egress CA: the certificates the forward proxy terminates an MCP server's tunnel with, one per destination host,
/// minted on the fly. Its own key, never the agent-facing CA's: a server that trusts it trusts nothing else of the
/// fabric. By default the key is generated in this edge's memory at start and never written (the certificate is public:
/// <c>GET /.well-known/fabric/egress-ca.pem</c> on the edge, and the file launched servers get); an operator who wants a
/// stable root for remote servers configures <c>Fabric:Edge:Egress:CaCertificateFile</c> and <c>CaKeyFile</c>.
/// Leaf certificates live an hour (<see cref="LeafLifetime"/>), are cached per host and minted afresh with 15 minutes left.
/// </summary>
internal sealed class EgressCertificateAuthority : IDisposable
{
    public static readonly TimeSpan LeafLifetime = TimeSpan.FromHours(1);
    private static readonly TimeSpan Renewal = TimeSpan.FromMinutes(15);
    private const int MaxCachedHosts = 4096;

    private readonly X509Certificate2 _root;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<string, SslStreamCertificateContext> _leaves = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, DateTimeOffset> _expiry = new(StringComparer.Ordinal);

    public EgressCertificateAuthority(IOptions<EdgeOptions> options, TimeProvider time)
    {
        _time = time;
        var egress = options.Value.Egress;
        if (egress.CaCertificateFile is { Length: > 0 } certificateFile)
        {
            _root = X509Certificate2.CreateFromPemFile(certificateFile, egress.CaKeyFile
                ?? throw new InvalidOperationException("Fabric:Edge:Egress:CaCertificateFile needs Fabric:Edge:Egress:CaKeyFile"));
        }
        else
        {
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var request = new CertificateRequest($"CN=Fabric egress CA (edge {options.Value.Name}), O=Fabric", key, HashAlgorithmName.SHA256);
            request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
            request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
            request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
            var now = time.GetUtcNow();
            using var created = request.CreateSelfSigned(now.AddMinutes(-5), now.AddDays(30));
            _root = X509CertificateLoader.LoadPkcs12(created.Export(X509ContentType.Pfx), null);
        }
        CertificatePem = _root.ExportCertificatePem();
    }

    /// <summary>The root's certificate (public), PEM.</summary>
    public string CertificatePem { get; }

    /// <summary>The TLS server certificate for <paramref name="host"/> (a DNS name, or an IP address: then an IP SAN).</summary>
    public SslStreamCertificateContext For(string host)
    {
        var now = _time.GetUtcNow();
        if (_leaves.TryGetValue(host, out var cached) && _expiry.TryGetValue(host, out var expires) && expires - now > Renewal)
        {
            return cached;
        }
        if (_leaves.Count >= MaxCachedHosts)
        {
            _leaves.Clear();
            _expiry.Clear();
        }
        var (context, notAfter) = Mint(host, now);
        _leaves[host] = context;
        _expiry[host] = notAfter;
        return context;
    }

    private (SslStreamCertificateContext, DateTimeOffset) Mint(string host, DateTimeOffset now)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=" + (host.Length <= 64 ? host : "egress"), key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        if (IPAddress.TryParse(host, out var address))
        {
            san.AddIpAddress(address);
        }
        else
        {
            san.AddDnsName(host);
        }
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        var notAfter = now + LeafLifetime;
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7F; // RFC 5280 §4.1.2.2: a positive integer
        using var leaf = request.Create(_root, now.AddMinutes(-5), notAfter, serial);
        var usable = X509CertificateLoader.LoadPkcs12(leaf.CopyWithPrivateKey(key).Export(X509ContentType.Pfx), null);
        return (SslStreamCertificateContext.Create(usable, [_root], offline: true), notAfter);
    }

    public void Dispose() => _root.Dispose();
}
