using System.Security.Cryptography.X509Certificates;
using Fabric.Contracts.Grains;
using Fabric.Contracts.Identity;
using Fabric.Hosting.Links;
using Fabric.Silo.Identity;

namespace Fabric.Silo.Tests.Identity;

/// <summary>The one check every Orleans link handshake runs (<see cref="LinkTls.Check"/>), as a table.</summary>
public sealed class LinkTlsTests
{
    private const string TrustDomain = "links.test";
    private static readonly DateTimeOffset Now = DateTimeOffset.UtcNow;
    private static readonly CaMaterial Ca = SvidIssuer.CreateRoot(TrustDomain, Now, TimeSpan.FromDays(2));
    private static readonly CaMaterial Foreign = SvidIssuer.CreateRoot("other.test", Now, TimeSpan.FromDays(2));

    public static TheoryData<string, string, FabricRole, string?> Cases => new()
    {
        // issuer, SPIFFE ID presented, role the link expects, refusal (null: admitted)
        { "own", $"spiffe://{TrustDomain}/fabric/silo/a", FabricRole.Silo, null },
        { "own", $"spiffe://{TrustDomain}/fabric/edge/e1", FabricRole.Edge, null },
        { "own", $"spiffe://{TrustDomain}/fabric/edge/e1", FabricRole.Silo, "is not a fabric silo" },
        { "own", $"spiffe://{TrustDomain}/fabric/silo/a", FabricRole.Edge, "is not a fabric edge" },
        { "own", $"spiffe://{TrustDomain}/agents/planner", FabricRole.Silo, "is not a fabric silo" },
        { "own", $"spiffe://{TrustDomain}/fabric/edge/Upper", FabricRole.Edge, "is not a fabric edge" },
        { "own", $"spiffe://{TrustDomain}/fabric/edge/e1/extra", FabricRole.Edge, "is not a fabric edge" },
        { "own", $"spiffe://{TrustDomain}/fabric/silo", FabricRole.Silo, "is not a fabric silo" },
        { "foreign", "spiffe://other.test/fabric/silo/a", FabricRole.Silo, "no trust bundle for trust domain 'other.test'" },
        // A foreign CA minting an ID in our trust domain: the chain fails, the name alone proves nothing.
        { "foreign-as-own", $"spiffe://{TrustDomain}/fabric/silo/a", FabricRole.Silo, "does not chain" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void A_link_admits_exactly_its_peer_role_of_its_own_trust_domain(string issuer, string spiffeId, FabricRole role, string? refusal)
    {
        using var certificate = Mint(issuer == "own" ? Ca : Foreign, spiffeId, issuer == "foreign-as-own");

        var error = LinkTls.Check(certificate, Node(), role, peers: null, Now);

        if (refusal is null)
        {
            Assert.Null(error);
        }
        else
        {
            Assert.Contains(refusal, error, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void No_certificate_no_svid_of_its_own_and_an_expired_peer_are_refused()
    {
        using var certificate = Mint(Ca, $"spiffe://{TrustDomain}/fabric/silo/a");

        Assert.Equal("no certificate was presented", LinkTls.Check(null, Node(), FabricRole.Silo, null, Now));
        Assert.Equal("this node has no SVID yet", LinkTls.Check(certificate, new NodeIdentity(), FabricRole.Silo, null, Now));
        Assert.Equal("certificate has expired", LinkTls.Check(certificate, Node(), FabricRole.Silo, null, Now.AddHours(2)));
    }

    [Fact]
    public void A_refused_edge_is_refused_and_its_neighbours_are_not()
    {
        using var revoked = Mint(Ca, $"spiffe://{TrustDomain}/fabric/edge/e1");
        using var neighbour = Mint(Ca, $"spiffe://{TrustDomain}/fabric/edge/e2");
        var peers = new LinkPeers();

        peers.Refuse(SpiffeId.Parse($"spiffe://{TrustDomain}/fabric/edge/e1"));

        Assert.Contains("is revoked", LinkTls.Check(revoked, Node(), FabricRole.Edge, peers, Now), StringComparison.Ordinal);
        Assert.Null(LinkTls.Check(neighbour, Node(), FabricRole.Edge, peers, Now));
    }

    [Fact]
    public void Refusing_aborts_and_uncounts_open_links_and_a_link_that_registers_after_the_refusal()
    {
        var id = SpiffeId.Parse($"spiffe://{TrustDomain}/fabric/edge/e1");
        var other = SpiffeId.Parse($"spiffe://{TrustDomain}/fabric/edge/e2");
        var peers = new LinkPeers();
        var open = new RecordingConnection();
        var neighbour = new RecordingConnection();
        using var openRegistration = peers.Track(open, id);
        using var neighbourRegistration = peers.Track(neighbour, other);

        Assert.Equal(1, peers.Refuse(id));
        // A handshake that passed its check just before the refusal registers just after it.
        var late = new RecordingConnection();
        using var lateRegistration = peers.Track(late, id);

        Assert.True(open.Aborted);
        Assert.True(late.Aborted);
        Assert.False(neighbour.Aborted);
        Assert.Equal(0, peers.OpenLinks(id));
        Assert.Equal(1, peers.OpenLinks(other));
    }

    private sealed class RecordingConnection : Microsoft.AspNetCore.Connections.ConnectionContext
    {
        public bool Aborted { get; private set; }
        public override string ConnectionId { get; set; } = Guid.NewGuid().ToString("N");
        public override Microsoft.AspNetCore.Http.Features.IFeatureCollection Features { get; } = new Microsoft.AspNetCore.Http.Features.FeatureCollection();
        public override IDictionary<object, object?> Items { get; set; } = new Dictionary<object, object?>();
        public override System.IO.Pipelines.IDuplexPipe Transport { get; set; } = null!;
        public override void Abort(Microsoft.AspNetCore.Connections.ConnectionAbortedException abortReason) => Aborted = true;
    }

    private static NodeIdentity Node()
    {
        var identity = new NodeIdentity();
        var silo = Mint(Ca, $"spiffe://{TrustDomain}/fabric/silo/self");
        identity.Set(new NodeIdentity.Snapshot(SpiffeId.Parse($"spiffe://{TrustDomain}/fabric/silo/self"), silo,
            TrustBundleSet.FromPem(TrustDomain, Ca.CertificatePem), Now.AddHours(1)));
        return identity;
    }

    private static X509Certificate2 Mint(CaMaterial ca, string spiffeId, bool forgeTrustDomain = false)
    {
        // SvidIssuer refuses IDs outside its trust domain; a forger is not so polite, so pretend its CA is ours.
        var issuer = forgeTrustDomain ? ca with { TrustDomain = TrustDomain } : ca;
        var issued = forgeTrustDomain
            ? ForgeUnvalidated(issuer, spiffeId)
            : SvidIssuer.Issue(issuer, new SvidRequest(spiffeId, TimeSpan.FromHours(1), [], []), Now);
        return SvidPem.LoadCertificate(issued.CertificatePem, issued.PrivateKeyPem);
    }

    // SvidIssuer validates what it mints against its own root, so a forged leaf (another CA, our trust domain)
    // cannot come from it; build that one by hand.
    private static IssuedSvid ForgeUnvalidated(CaMaterial ca, string spiffeId)
    {
        using var key = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("O=SPIFFE", key, System.Security.Cryptography.HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        var san = new SubjectAlternativeNameBuilder();
        san.AddUri(new Uri(spiffeId));
        request.CertificateExtensions.Add(san.Build());
        using var caCertificate = X509Certificate2.CreateFromPem(ca.CertificatePem, ca.PrivateKeyPem);
        using var leaf = request.Create(caCertificate, Now.AddMinutes(-1), Now.AddHours(1), [1, 2, 3, 4]);
        return new IssuedSvid { CertificatePem = leaf.ExportCertificatePem(), PrivateKeyPem = key.ExportPkcs8PrivateKeyPem(), BundlePem = ca.CertificatePem, ExpiresAt = Now.AddHours(1) };
    }
}
