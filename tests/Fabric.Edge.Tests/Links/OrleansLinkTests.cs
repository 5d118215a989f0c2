using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Fabric.Contracts.Grains;
using Fabric.Contracts.Identity;
using Fabric.Edge.Tests.Fixtures;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Hosting;

namespace Fabric.Edge.Tests.Links;

/// <summary>
/// Issue 10 §1, the hole: the silo's Orleans ports speak TLS only and admit only the fabric's own nodes. Probed
/// the way an attacker on the network would: a plain Orleans client, a TLS client with no certificate, with an
/// agent's SVID, with an edge SVID on the silo port; each control case (the right SVID on the right port) passes,
/// so every refusal below is a refusal of that identity, not of everything.
/// </summary>
[Collection(FabricCollection.Name)]
public sealed class OrleansLinkTests(FabricFixture fabric)
{
    [Fact]
    public async Task A_plain_orleans_client_with_no_credential_cannot_connect_to_the_gateway()
    {
        using var client = OrleansClient(fabric.GatewayPort, certificate: null);

        await Assert.ThrowsAnyAsync<Exception>(() => client.StartAsync());
    }

    [Fact]
    public async Task An_orleans_client_with_an_agent_svid_cannot_connect_to_the_gateway()
    {
        using var agent = await fabric.MintSvidAsync($"spiffe://{FabricFixture.TrustDomain}/agents/{FabricFixture.Unique("intruder")}");
        using var client = OrleansClient(fabric.GatewayPort, agent);

        await Assert.ThrowsAnyAsync<Exception>(() => client.StartAsync());
    }

    [Fact]
    public async Task An_orleans_client_pointed_at_the_silo_port_cannot_connect_even_with_an_edge_svid()
    {
        using var edge = await fabric.MintThroughTheCaGrainAsync($"spiffe://{FabricFixture.TrustDomain}/fabric/edge/probe-{Guid.NewGuid():N}"[..60]);
        using var client = OrleansClient(fabric.SiloPort, edge);

        await Assert.ThrowsAnyAsync<Exception>(() => client.StartAsync());
    }

    [Fact]
    public async Task Control_an_orleans_client_with_an_edge_svid_connects_to_the_gateway_and_calls_a_grain()
    {
        using var edge = await fabric.MintThroughTheCaGrainAsync($"spiffe://{FabricFixture.TrustDomain}/fabric/edge/control");
        using var client = OrleansClient(fabric.GatewayPort, edge);

        await client.StartAsync();
        var bundle = await client.Services.GetRequiredService<IClusterClient>().Authority(FabricFixture.TrustDomain).GetBundlePemAsync();
        await client.StopAsync();

        Assert.Contains("BEGIN CERTIFICATE", bundle, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("fabric/silo/minted")]
    [InlineData("fabric/edge/minted")]
    [InlineData("fabric")]
    public async Task The_ca_grain_never_issues_a_fabric_identity_to_an_orleans_caller(string path)
    {
        // An edge reaches every grain in its role; were the CA grain to mint it a silo SVID, it could join the silo port.
        using var edge = await fabric.MintThroughTheCaGrainAsync($"spiffe://{FabricFixture.TrustDomain}/fabric/edge/ca-probe");
        using var client = OrleansClient(fabric.GatewayPort, edge);
        await client.StartAsync();
        var authority = client.Services.GetRequiredService<IClusterClient>().Authority(FabricFixture.TrustDomain);

        await Assert.ThrowsAsync<ArgumentException>(() => authority.IssueAsync(new SvidRequest($"spiffe://{FabricFixture.TrustDomain}/{path}", TimeSpan.FromHours(1), [], [])).AsTask());
        await Assert.ThrowsAsync<ArgumentException>(() => authority.IssueJwtAsync(new JwtSvidRequest($"spiffe://{FabricFixture.TrustDomain}/{path}", ["x"], TimeSpan.FromMinutes(1))).AsTask());
        await client.StopAsync();
    }

    public static TheoryData<string, string?, bool> Handshakes => new()
    {
        // port, SPIFFE path of the client certificate (null: none), admitted
        { "silo", null, false },
        { "silo", "/agents/planner", false },
        { "silo", "/fabric/edge/probe", false },
        { "silo", "/fabric/silo/probe", true },
        { "gateway", null, false },
        { "gateway", "/agents/planner", false },
        { "gateway", "/fabric/silo/probe", false },
        { "gateway", "/fabric/egress/probe", false },
        { "gateway", "/fabric/edge/probe", true },
    };

    [Theory]
    [MemberData(nameof(Handshakes))]
    public async Task Each_port_keeps_a_tls_link_only_with_its_own_peer_role(string port, string? path, bool admitted)
    {
        using var certificate = path is null ? null : await fabric.MintThroughTheCaGrainAsync($"spiffe://{FabricFixture.TrustDomain}{path}");

        var (kept, server) = await HandshakeAsync(port == "silo" ? fabric.SiloPort : fabric.GatewayPort, certificate, TimeSpan.FromSeconds(admitted ? 1 : 10));

        Assert.Equal(admitted, kept);
        // Whatever the outcome, the listener presented a silo SVID of this trust domain.
        Assert.Equal($"spiffe://{FabricFixture.TrustDomain}/fabric/silo/", server?[..(server.LastIndexOf('/') + 1)]);
    }

    [Fact]
    public async Task A_foreign_trust_domain_silo_svid_is_refused_on_the_silo_port()
    {
        // Same path, another CA: SPIFFE validation is per trust domain, never "any certificate with the right URI".
        var foreign = Fabric.Silo.Identity.SvidIssuer.CreateRoot("other.test", DateTimeOffset.UtcNow, TimeSpan.FromDays(1));
        var issued = Fabric.Silo.Identity.SvidIssuer.Issue(foreign, new Fabric.Contracts.Grains.SvidRequest("spiffe://other.test/fabric/silo/probe", TimeSpan.FromHours(1), [], []), DateTimeOffset.UtcNow);
        using var certificate = SvidPem.LoadCertificate(issued.CertificatePem, issued.PrivateKeyPem);

        var (kept, _) = await HandshakeAsync(fabric.SiloPort, certificate, TimeSpan.FromSeconds(10));

        Assert.False(kept);
    }

    [Theory]
    [InlineData("silo")]
    [InlineData("gateway")]
    public async Task Plain_tcp_speaking_orleans_is_dropped_without_an_answer(string port)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, port == "silo" ? fabric.SiloPort : fabric.GatewayPort);
        var stream = tcp.GetStream();
        // Not a TLS ClientHello: the length-prefixed preamble a plain Orleans connection opens with.
        await stream.WriteAsync(new byte[] { 0x10, 0, 0, 0, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10 });

        var buffer = new byte[64];
        int read;
        try
        {
            read = await stream.ReadAsync(buffer).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (IOException)
        {
            read = 0; // reset by the listener: dropped, as expected
        }

        // Either nothing (closed) or a TLS alert record (content type 21): never an Orleans byte.
        Assert.True(read == 0 || buffer[0] == 21, $"the listener answered {read} bytes starting 0x{buffer[0]:x2}");
    }

    /// <summary>
    /// A TLS handshake, then a read: a refused client certificate shows as the listener closing the connection
    /// (with TLS 1.3 and on Linux the server validates after its side of the handshake completed), an admitted
    /// one as the listener sending its Orleans preamble or waiting for ours. The connection is watched for <paramref name="watch"/>:
    /// 10 s where a refusal is expected (a listener that keeps the link fails the test), 1 s where admission is (a
    /// slow machine can only make a listener look more patient, never make a wrongful close look like a wait).
    /// </summary>
    private async Task<(bool Admitted, string? ServerId)> HandshakeAsync(int port, X509Certificate2? certificate, TimeSpan watch)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, port);
        string? server = null;
        var bundles = TrustBundleSet.Empty.With(FabricFixture.TrustDomain, fabric.Bundle);
        await using var tls = new SslStream(tcp.GetStream(), leaveInnerStreamOpen: false, (_, presented, _, _) =>
        {
            // The listener must prove it is a silo of this fabric before the probe cares what it thinks of us.
            server = presented is X509Certificate2 leaf ? X509SvidValidator.Validate(leaf, null, bundles, DateTimeOffset.UtcNow).Id?.ToString() : null;
            return server is not null;
        });
        try
        {
            await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = "localhost",
                ClientCertificates = certificate is null ? null : [certificate],
            });
        }
        catch (Exception ex) when (ex is AuthenticationException or IOException)
        {
            return (false, server);
        }
        var read = tls.ReadAsync(new byte[16]).AsTask();
        if (await Task.WhenAny(read, Task.Delay(watch)) != read)
        {
            return (true, server);
        }
        // Bytes back are the listener's own Orleans preamble (a silo speaks first): admitted. A close or a
        // reset is a refusal (the fault is observed here so it is not reported as unobserved).
        return (read.IsCompletedSuccessfully && read.Result > 0, server);
    }

    private IHost OrleansClient(int port, X509Certificate2? certificate) =>
        Host.CreateDefaultBuilder()
            .ConfigureLogging(logging => logging.ClearProviders())
            .UseOrleansClient(client =>
            {
                client.UseLocalhostClustering(port, "fabric", fabric.ClusterId);
                client.UseConnectionRetryFilter((_, _) => Task.FromResult(false));
                if (certificate is not null)
                {
                    client.UseTls(certificate, tls => tls.RemoteCertificateValidation = (presented, _, _) =>
                        X509SvidValidator.Validate(presented, null, TrustBundleSet.Empty.With(FabricFixture.TrustDomain, fabric.Bundle), DateTimeOffset.UtcNow).IsValid);
                }
            })
            .Build();
}
