using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Fabric.Contracts.Identity;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;

namespace Fabric.Bench.Fabric;

/// <summary>
/// One PKI for the whole run: every certificate (agents, upstream, YARP, nginx) is an X.509-SVID
/// minted by the fabric's own CA, and every party trusts only the fabric's bundle. So direct, YARP,
/// nginx and the edge all do the same mTLS work per connection.
/// </summary>
internal sealed class BenchPki(X509Certificate2Collection bundle, string bundlePem)
{
    public X509Certificate2Collection Bundle { get; } = bundle;
    public string BundlePem { get; } = bundlePem;

    /// <summary>Chain validation against the bundle only (never the system store), no revocation check.</summary>
    public bool Validate(X509Certificate2? certificate) => CustomRootTrust.Chains(certificate, Bundle);

    public RemoteCertificateValidationCallback ValidationCallback =>
        (_, certificate, _, _) => certificate is X509Certificate2 presented && Validate(presented);

    /// <summary>
    /// Kestrel on a free loopback port, HTTP/1.1 and HTTP/2 over TLS with <paramref name="svid"/>, a client
    /// certificate required and chained to the bundle: how every bench server (upstream, YARP) listens.
    /// </summary>
    /// <param name="requireClientCertificate">False for the API an MCP server calls through the egress leg (Web PKI style: server authentication only).</param>
    /// <param name="port">0 for a free one.</param>
    public void ListenMutualTls(KestrelServerOptions kestrel, Svid svid, long maxRequestBodySize, bool requireClientCertificate = true, int port = 0)
    {
        kestrel.AddServerHeader = false;
        kestrel.Limits.MaxRequestBodySize = maxRequestBodySize;
        kestrel.Listen(IPAddress.Loopback, port, listen =>
        {
            listen.Protocols = HttpProtocols.Http1AndHttp2;
            listen.UseHttps(https =>
            {
                https.ServerCertificate = svid.Certificate;
                https.ClientCertificateMode = requireClientCertificate ? ClientCertificateMode.RequireCertificate : ClientCertificateMode.AllowCertificate;
                https.CheckCertificateRevocation = false;
                https.ClientCertificateValidation = (certificate, _, _) => Validate(certificate);
            });
        });
    }
}

/// <summary>A minted SVID, as a usable certificate and as the PEM files nginx wants.</summary>
internal sealed record Svid(string SpiffeId, X509Certificate2 Certificate, string CertificatePem, string PrivateKeyPem);
