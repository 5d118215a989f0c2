using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Fabric.Contracts.Grains;
using Fabric.Edge.Tests.Fixtures;
using Fabric.Hosting.Links;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Hosting;

namespace Fabric.Edge.Tests.Links;

/// <summary>A fabric whose silo and edge SVIDs live 6 s: both must renew (at two thirds) without a restart.</summary>
public sealed class ShortLivedFabricFixture : FabricFixture
{
    protected override IEnumerable<string> SiloArguments() =>
        ["--Fabric:Bootstrap:EdgeSvidTtl=00:00:06", "--Fabric:Silo:SvidTtl=00:00:06"];
}

[CollectionDefinition(Name)]
public sealed class ShortLivedFabricCollection : ICollectionFixture<ShortLivedFabricFixture>
{
    public const string Name = "short-lived-fabric";
}

[Collection(ShortLivedFabricCollection.Name)]
public sealed class RenewalTests(ShortLivedFabricFixture fabric)
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task The_edge_renews_its_svid_and_serves_and_links_with_the_new_one_without_a_restart()
    {
        var identity = fabric.EdgeApp.Services.GetRequiredService<NodeIdentity>();
        var before = identity.Current;

        var renewed = await NextAsync(identity, before);

        Assert.Equal(before.Id, renewed.Id);
        Assert.NotEqual(before.Certificate.SerialNumber, renewed.Certificate.SerialNumber);
        Assert.NotEqual(before.Certificate.GetPublicKeyString(), renewed.Certificate.GetPublicKeyString());
        // An agent's next handshake sees the new certificate.
        Assert.Equal(renewed.Certificate.SerialNumber, (await ServedCertificateAsync()).SerialNumber);
        // And the Orleans link still carries grain calls.
        await fabric.EdgeApp.Services.GetRequiredService<IClusterClient>().Catalog().ListAsync();
    }

    [Fact]
    public async Task The_silo_renews_its_svid_and_new_links_handshake_against_the_new_one()
    {
        var identity = fabric.SiloServices.GetRequiredService<NodeIdentity>();
        var before = identity.Current;

        var renewed = await NextAsync(identity, before);

        Assert.NotEqual(before.Certificate.SerialNumber, renewed.Certificate.SerialNumber);
        // Past the first certificate's lifetime, a fresh link still handshakes: the silo serves the renewed one.
        using var edge = await fabric.MintThroughTheCaGrainAsync($"spiffe://{FabricFixture.TrustDomain}/fabric/edge/renewal-probe");
        var wait = before.ExpiresAt - DateTimeOffset.UtcNow + TimeSpan.FromMilliseconds(200);
        if (wait > TimeSpan.Zero)
        {
            await Task.Delay(wait); // the behaviour under test is "after the old SVID expired"
        }
        using var client = Host.CreateDefaultBuilder()
            .ConfigureLogging(logging => logging.ClearProviders())
            .UseOrleansClient(c =>
            {
                c.UseLocalhostClustering(fabric.GatewayPort, "fabric", fabric.ClusterId);
                c.UseConnectionRetryFilter((_, _) => Task.FromResult(false));
                c.UseTls(edge, tls => tls.RemoteCertificateValidation = (presented, _, _) =>
                    LinkTls.Check(presented, identity, Fabric.Contracts.Identity.FabricRole.Silo, null, DateTimeOffset.UtcNow) is null);
            })
            .Build();
        await client.StartAsync();
        await client.Services.GetRequiredService<IClusterClient>().Catalog().ListAsync();
        await client.StopAsync();
    }

    private static async Task<NodeIdentity.Snapshot> NextAsync(NodeIdentity identity, NodeIdentity.Snapshot before)
    {
        var changed = new TaskCompletionSource<NodeIdentity.Snapshot>(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnChanged(NodeIdentity.Snapshot snapshot)
        {
            if (!ReferenceEquals(snapshot, before) && snapshot.Certificate.SerialNumber != before.Certificate.SerialNumber)
            {
                changed.TrySetResult(snapshot);
            }
        }
        identity.Changed += OnChanged;
        try
        {
            if (!ReferenceEquals(identity.Current, before))
            {
                OnChanged(identity.Current);
            }
            return await changed.Task.WaitAsync(Deadline);
        }
        finally
        {
            identity.Changed -= OnChanged;
        }
    }

    private async Task<X509Certificate2> ServedCertificateAsync()
    {
        using var agent = await fabric.MintSvidAsync($"spiffe://{FabricFixture.TrustDomain}/agents/{FabricFixture.Unique("renewal")}");
        X509Certificate2? served = null;
        using var http = McpClients.CreateHttpClient(agent, (request, certificate, chain, errors) =>
        {
            served = certificate is null ? null : X509CertificateLoader.LoadCertificate(certificate.RawData);
            return fabric.ValidateEdge(request, certificate, chain, errors);
        });
        using var _ = await http.GetAsync(new Uri(fabric.EdgeUrl, "/alive"));
        return served ?? throw new InvalidOperationException("the edge presented no certificate");
    }
}
