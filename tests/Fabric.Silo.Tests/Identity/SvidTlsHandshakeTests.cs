using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Fabric.Contracts.Grains;
using Fabric.Contracts.Identity;
using Fabric.Silo.Identity;

namespace Fabric.Silo.Tests.Identity;

/// <summary>
/// Issued SVIDs, loaded with <see cref="SvidPem"/>, work as both ends of a real mutual-TLS handshake
/// over loopback, with each side admitting the other through <see cref="X509SvidValidator"/>.
/// </summary>
public sealed class SvidTlsHandshakeTests
{
    private const string TrustDomain = "fabric.local";

    [Fact]
    public async Task Issued_svids_authenticate_both_ends_of_a_mutual_tls_handshake()
    {
        var now = DateTimeOffset.UtcNow;
        var ca = SvidIssuer.CreateRoot(TrustDomain, now, TimeSpan.FromDays(1));
        var serverSvid = SvidIssuer.Issue(ca, new SvidRequest(
            "spiffe://fabric.local/mcp/files", TimeSpan.FromHours(1), ["localhost"], ["127.0.0.1"]), now);
        var clientSvid = SvidIssuer.Issue(ca, new SvidRequest(
            "spiffe://fabric.local/agents/planner", TimeSpan.FromHours(1), [], []), now);
        var bundles = TrustBundleSet.FromPem(TrustDomain, ca.CertificatePem);
        using var serverCertificate = SvidPem.LoadCertificate(serverSvid.CertificatePem, serverSvid.PrivateKeyPem);
        using var clientCertificate = SvidPem.LoadCertificate(clientSvid.CertificatePem, clientSvid.PrivateKeyPem);
        SpiffeId? clientSeenByServer = null;
        SpiffeId? serverSeenByClient = null;

        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var serverSide = Task.Run(async () =>
        {
            using var accepted = await listener.AcceptTcpClientAsync();
            await using var tls = new SslStream(accepted.GetStream());
            await tls.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
            {
                ServerCertificate = serverCertificate,
                ClientCertificateRequired = true,
                // The OS trust store knows nothing of our root: chain errors are expected, and the
                // SPIFFE validator alone decides.
                RemoteCertificateValidationCallback = (_, certificate, _, _) =>
                {
                    var result = Check(certificate, bundles, null);
                    clientSeenByServer = result.Id;
                    return result.IsValid;
                },
            });
            await tls.WriteAsync(new byte[] { 42 });
        });

        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, port);
        await using var clientTls = new SslStream(client.GetStream());
        await clientTls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "localhost",
            // A certificate context offers the SVID as is, without .NET matching it against the CA
            // names the server lists (ClientCertificates = [svid] also works against this server).
            ClientCertificateContext = SslStreamCertificateContext.Create(clientCertificate, null, offline: true),
            RemoteCertificateValidationCallback = (_, certificate, _, _) =>
            {
                var result = Check(certificate, bundles, SpiffeId.Parse("spiffe://fabric.local/mcp/files"));
                serverSeenByClient = result.Id;
                return result.IsValid;
            },
        });
        var buffer = new byte[1];
        await clientTls.ReadExactlyAsync(buffer);
        await serverSide;

        Assert.Equal(42, buffer[0]);
        Assert.Equal(SpiffeId.Parse("spiffe://fabric.local/agents/planner"), clientSeenByServer);
        Assert.Equal(SpiffeId.Parse("spiffe://fabric.local/mcp/files"), serverSeenByClient);
    }

    private static SvidValidation Check(X509Certificate? certificate, TrustBundleSet bundles, SpiffeId? expected)
    {
        if (certificate is not X509Certificate2 leaf)
        {
            return new SvidValidation(null, "no certificate was presented");
        }
        var now = DateTimeOffset.UtcNow;
        return expected is null
            ? X509SvidValidator.Validate(leaf, null, bundles, now)
            : X509SvidValidator.ValidateExpected(leaf, null, bundles, now, expected);
    }
}
