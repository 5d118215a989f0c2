using System.Formats.Asn1;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using Fabric.Contracts.Grains;
using Fabric.Contracts.Identity;
using Fabric.Silo.Identity;

namespace Fabric.Silo.Tests.Identity;

/// <summary>What the CA mints, checked against spiffe/spiffe standards/X509-SVID.md §2–§4.</summary>
public sealed class SvidIssuerTests
{
    private static readonly DateTimeOffset Now = new(2030, 1, 15, 12, 0, 0, TimeSpan.Zero);
    private static readonly CaMaterial Ca = SvidIssuer.CreateRoot("fabric.local", Now, TimeSpan.FromDays(365));
    private const string Workload = "spiffe://fabric.local/agents/planner";

    [Fact]
    public void Issued_svid_passes_the_edge_validator_with_its_bundle()
    {
        var svid = Issue(Workload);
        using var leaf = X509Certificate2.CreateFromPem(svid.CertificatePem);

        var result = X509SvidValidator.Validate(leaf, null, TrustBundleSet.FromPem("fabric.local", svid.BundlePem), Now);

        Assert.True(result.IsValid, result.Error);
        Assert.Equal(SpiffeId.Parse(Workload), result.Id);
    }

    [Fact]
    public void Issued_svid_has_exactly_the_extensions_an_x509_svid_leaf_needs()
    {
        using var leaf = X509Certificate2.CreateFromPem(Issue(Workload).CertificatePem);

        var basicConstraints = Assert.IsType<X509BasicConstraintsExtension>(Extension(leaf, "2.5.29.19"));
        Assert.True(basicConstraints.Critical);
        Assert.False(basicConstraints.CertificateAuthority);

        var keyUsage = Assert.IsType<X509KeyUsageExtension>(Extension(leaf, "2.5.29.15"));
        Assert.True(keyUsage.Critical);
        Assert.Equal(X509KeyUsageFlags.DigitalSignature, keyUsage.KeyUsages);

        var eku = Assert.IsType<X509EnhancedKeyUsageExtension>(Extension(leaf, "2.5.29.37"));
        Assert.Equal(
            ["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"],
            eku.EnhancedKeyUsages.Cast<System.Security.Cryptography.Oid>().Select(o => o.Value).Order());

        Assert.False(Extension(leaf, "2.5.29.17").Critical);  // the subject is not empty (§3.1)
        Assert.Equal([Workload], UriSans(leaf));
        Assert.NotNull(Extension(leaf, "2.5.29.14"));          // subjectKeyIdentifier
        Assert.NotNull(Extension(leaf, "2.5.29.35"));          // authorityKeyIdentifier
        Assert.Equal(6, leaf.Extensions.Count);
    }

    [Fact]
    public void Issued_svid_has_a_positive_16_byte_serial_and_a_p256_key_signed_with_sha256()
    {
        var svid = Issue(Workload);
        using var leaf = X509Certificate2.CreateFromPem(svid.CertificatePem, svid.PrivateKeyPem);

        var serial = leaf.GetSerialNumber();   // little-endian
        Assert.Equal(16, serial.Length);
        Assert.Equal(0, serial[^1] & 0x80);
        Assert.Equal("1.2.840.10045.4.3.2", leaf.SignatureAlgorithm.Value);  // ecdsa-with-SHA256
        using var key = leaf.GetECDsaPrivateKey();
        Assert.Equal(256, key!.KeySize);
        Assert.StartsWith("-----BEGIN PRIVATE KEY-----", svid.PrivateKeyPem, StringComparison.Ordinal);
        Assert.DoesNotContain("BEGIN PRIVATE KEY", svid.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Each_svid_gets_a_fresh_key_and_serial()
    {
        var first = Issue(Workload);
        var second = Issue(Workload);
        using var a = X509Certificate2.CreateFromPem(first.CertificatePem);
        using var b = X509Certificate2.CreateFromPem(second.CertificatePem);

        Assert.NotEqual(first.PrivateKeyPem, second.PrivateKeyPem);
        Assert.NotEqual(a.SerialNumber, b.SerialNumber);
    }

    [Fact]
    public void Validity_starts_a_minute_early_for_clock_skew_and_lasts_the_ttl()
    {
        var svid = Issue(Workload, TimeSpan.FromHours(1));
        using var leaf = X509Certificate2.CreateFromPem(svid.CertificatePem);

        Assert.Equal(Now - SvidIssuer.ClockSkew, new DateTimeOffset(leaf.NotBefore.ToUniversalTime()));
        Assert.Equal(Now.AddHours(1), new DateTimeOffset(leaf.NotAfter.ToUniversalTime()));
        Assert.Equal(Now.AddHours(1), svid.ExpiresAt);
    }

    [Fact]
    public void Ttl_is_clipped_to_the_expiry_of_the_ca()
    {
        var ca = SvidIssuer.CreateRoot("fabric.local", Now, TimeSpan.FromDays(2));

        var svid = SvidIssuer.Issue(ca, Request(Workload, TimeSpan.FromDays(30)), Now);

        Assert.Equal(Now.AddDays(2), svid.ExpiresAt);
    }

    [Fact]
    public void Dns_and_ip_sans_are_present_when_asked_for()
    {
        var svid = SvidIssuer.Issue(
            Ca,
            new SvidRequest(Workload, TimeSpan.FromHours(1), ["mcp.fabric.local", "localhost"], ["127.0.0.1", "::1"]),
            Now);
        using var leaf = X509Certificate2.CreateFromPem(svid.CertificatePem);

        var san = Assert.IsType<X509SubjectAlternativeNameExtension>(Extension(leaf, "2.5.29.17"));
        Assert.Equal(["mcp.fabric.local", "localhost"], san.EnumerateDnsNames());
        Assert.Equal([IPAddress.Loopback, IPAddress.IPv6Loopback], san.EnumerateIPAddresses());
        Assert.True(X509SvidValidator.Validate(leaf, null, TrustBundleSet.FromPem("fabric.local", svid.BundlePem), Now).IsValid);
    }

    [Fact]
    public void Root_is_a_critical_ca_with_the_trust_domain_id_and_no_room_for_intermediates()
    {
        using var root = X509Certificate2.CreateFromPem(Ca.CertificatePem);

        var basicConstraints = Assert.IsType<X509BasicConstraintsExtension>(Extension(root, "2.5.29.19"));
        Assert.True(basicConstraints.Critical);
        Assert.True(basicConstraints.CertificateAuthority);
        Assert.Equal(0, basicConstraints.PathLengthConstraint);
        var keyUsage = Assert.IsType<X509KeyUsageExtension>(Extension(root, "2.5.29.15"));
        Assert.True(keyUsage.Critical);
        Assert.Equal(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, keyUsage.KeyUsages);
        Assert.NotNull(Extension(root, "2.5.29.14"));
        // The URI SAN is exactly spiffe://fabric.local, with no trailing slash (X509-SVID §3.2).
        Assert.Equal(["spiffe://fabric.local"], UriSans(root));
        Assert.StartsWith("-----BEGIN PRIVATE KEY-----", Ca.PrivateKeyPem, StringComparison.Ordinal);
        Assert.DoesNotContain("PRIVATE", Ca.ToString(), StringComparison.Ordinal);
    }

    public static TheoryData<string, string> RejectedIds => new()
    {
        { "spiffe://fabric.local/", "is not a valid SPIFFE ID" },
        { "spiffe://Fabric.local/x", "is not a valid SPIFFE ID" },
        { "not a uri", "is not a valid SPIFFE ID" },
        { "", "is not a valid SPIFFE ID" },
        { "spiffe://fabric.local", "has no path" },
        { "spiffe://other.domain/agents/planner", "this CA issues only for 'fabric.local'" },
    };

    [Theory]
    [MemberData(nameof(RejectedIds))]
    public void Issue_rejects_an_id_it_must_not_sign(string spiffeId, string reason)
    {
        var error = Assert.Throws<ArgumentException>(() => SvidIssuer.Issue(Ca, Request(spiffeId), Now));

        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-60)]
    [InlineData(30 * 24 * 3600 + 1)]
    public void Issue_rejects_a_ttl_outside_0_to_30_days(int seconds)
    {
        var error = Assert.Throws<ArgumentException>(() =>
            SvidIssuer.Issue(Ca, Request(Workload, TimeSpan.FromSeconds(seconds)), Now));

        Assert.Contains("TTL", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Issue_accepts_a_ttl_of_exactly_30_days()
    {
        var svid = SvidIssuer.Issue(Ca, Request(Workload, TimeSpan.FromDays(30)), Now);

        Assert.Equal(Now.AddDays(30), svid.ExpiresAt);
    }

    [Theory]
    [InlineData("")]
    [InlineData("-bad.example")]
    [InlineData("bad-.example")]
    [InlineData("a..b")]
    [InlineData("*.example.org")]
    [InlineData("under_score.example")]
    [InlineData("spa ce.example")]
    [InlineData("ex\u00e4mple.org")]
    [InlineData("trailing.dot.")]
    public void Issue_rejects_an_invalid_dns_name(string dnsName)
    {
        var request = new SvidRequest(Workload, TimeSpan.FromHours(1), [dnsName], []);

        var error = Assert.Throws<ArgumentException>(() => SvidIssuer.Issue(Ca, request, Now));

        Assert.Contains("not a valid DNS name", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("localhost")]
    [InlineData("1")]
    [InlineData("127.1")]
    [InlineData("0x7f.0.0.1")]
    [InlineData("256.0.0.1")]
    [InlineData("fe80::1%1")]
    [InlineData("0:0:0:0:0:0:0:1")]
    public void Issue_rejects_an_ip_address_not_in_canonical_form(string ipAddress)
    {
        var request = new SvidRequest(Workload, TimeSpan.FromHours(1), [], [ipAddress]);

        var error = Assert.Throws<ArgumentException>(() => SvidIssuer.Issue(Ca, request, Now));

        Assert.Contains("not an IP address in canonical form", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Issue_refuses_to_sign_with_an_expired_ca()
    {
        var error = Assert.Throws<InvalidOperationException>(() =>
            SvidIssuer.Issue(Ca, Request(Workload), Now.AddDays(366)));

        Assert.Contains("the CA of 'fabric.local' is valid from", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("Fabric.local")]
    [InlineData("fabric.local:8443")]
    public void CreateRoot_rejects_an_invalid_trust_domain(string trustDomain)
    {
        Assert.Throws<ArgumentException>(() => SvidIssuer.CreateRoot(trustDomain, Now, TimeSpan.FromDays(1)));
    }

    private static IssuedSvid Issue(string spiffeId, TimeSpan? ttl = null) =>
        SvidIssuer.Issue(Ca, Request(spiffeId, ttl), Now);

    private static SvidRequest Request(string spiffeId, TimeSpan? ttl = null) =>
        new(spiffeId, ttl ?? TimeSpan.FromHours(1), [], []);

    // Read independently of the production reader; X509Extension.Format differs per platform.
    private static List<string> UriSans(X509Certificate2 certificate)
    {
        var uriTag = new Asn1Tag(TagClass.ContextSpecific, 6);
        var names = new AsnReader(Extension(certificate, "2.5.29.17").RawData, AsnEncodingRules.DER).ReadSequence();
        var uris = new List<string>();
        while (names.HasData)
        {
            if (names.PeekTag().HasSameClassAndValue(uriTag))
            {
                uris.Add(names.ReadCharacterString(UniversalTagNumber.IA5String, uriTag));
            }
            else
            {
                names.ReadEncodedValue();
            }
        }
        return uris;
    }

    private static X509Extension Extension(X509Certificate2 certificate, string oid) =>
        certificate.Extensions[oid] ?? throw new Xunit.Sdk.XunitException($"no extension {oid}");
}
