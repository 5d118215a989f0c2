using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Fabric.Contracts.Identity;

namespace Fabric.Contracts.Tests.Identity;

/// <summary>The SPIFFE bundle format (JWK Set): what a fabric publishes reads back whole; anything malformed is refused whole.</summary>
public sealed class SpiffeBundleTests
{
    private static readonly X509Certificate2 Root = CreateRoot();
    private static readonly ECDsa JwtKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);

    [Fact]
    public void A_published_bundle_reads_back_with_its_authorities_sequence_and_hint()
    {
        var published = new SpiffeBundle("b.test", 7, TimeSpan.FromMinutes(5), [Root], [new JwtKey("k1", JwtKey.ExportSubjectPublicKeyInfo())]);

        var read = SpiffeBundle.TryParse("b.test", Encoding.UTF8.GetBytes(published.ToJson()), out var error);

        Assert.Null(error);
        Assert.NotNull(read);
        Assert.Equal(7, read.Sequence);
        Assert.Equal(TimeSpan.FromMinutes(5), read.RefreshHint);
        Assert.Equal(Root.Thumbprint, Assert.Single(read.X509Authorities).Thumbprint);
        var jwt = Assert.Single(read.JwtAuthorities);
        Assert.Equal("k1", jwt.KeyId);
        Assert.Equal(JwtKey.ExportSubjectPublicKeyInfo(), jwt.PublicKey);
    }

    [Theory]
    [InlineData("[]", "no keys array")]
    [InlineData("""{"keys":[]}""", "1 to 64 keys")]
    [InlineData("""{"keys":[{"use":"enc","kty":"EC"}]}""", "not a SPIFFE authority")]
    [InlineData("""{"keys":[{"kty":"EC"}]}""", "not a SPIFFE authority")]
    [InlineData("""{"keys":[{"use":"x509-svid","x5c":[]}]}""", "exactly one certificate")]
    [InlineData("""{"keys":[{"use":"x509-svid","x5c":["AAAA"]}]}""", "malformed")]
    [InlineData("""{"keys":[{"use":"jwt-svid","kty":"EC","crv":"P-256","x":"AA","y":"AA"}]}""", "needs a kid")]
    [InlineData("""{"keys":[{"use":"jwt-svid","kid":"k","kty":"oct","k":"AA"}]}""", "malformed")]
    [InlineData("""{"keys":[{"use":"jwt-svid","kid":"k","kty":"EC","crv":"P-256","x":"AA","y":"AA"}],"spiffe_sequence":-1}""", "non-negative")]
    [InlineData("""{"keys":[{"use":"jwt-svid","kid":"k","kty":"EC","crv":"P-256","x":"AA","y":"AA"}],"spiffe_refresh_hint":"60"}""", "refresh_hint")]
    [InlineData("not json", "malformed")]
    public void A_malformed_document_is_refused_whole(string json, string error)
    {
        var read = SpiffeBundle.TryParse("b.test", Encoding.UTF8.GetBytes(json), out var message);

        Assert.Null(read);
        Assert.Contains(error, message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_leaf_certificate_is_no_x509_authority()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var leaf = new CertificateRequest("CN=leaf", key, HashAlgorithmName.SHA256).CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddHours(1));
        var json = $$"""{"keys":[{"use":"x509-svid","kty":"EC","x5c":["{{Convert.ToBase64String(leaf.RawData)}}"]}]}""";

        Assert.Null(SpiffeBundle.TryParse("b.test", Encoding.UTF8.GetBytes(json), out var error));
        Assert.Contains("must be a CA certificate", error, StringComparison.Ordinal);
    }

    private static X509Certificate2 CreateRoot()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=b.test root", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddDays(1));
    }
}
