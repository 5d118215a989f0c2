using System.Security.Cryptography.X509Certificates;
using Fabric.Contracts.Grains;
using Fabric.Contracts.Identity;
using Fabric.Silo.Identity;
using Microsoft.Extensions.DependencyInjection;

namespace Fabric.Silo.Tests.Identity;

[Collection(ClusterCollectionDefinition.Name)]
public sealed class CertificateAuthorityGrainTests(ClusterFixture fixture)
{
    [Fact]
    public async Task Bundle_is_a_ca_certificate_that_stays_the_same_across_calls()
    {
        var ca = fixture.Client.GetGrain<ICertificateAuthorityGrain>(NewTrustDomain());

        var first = await ca.GetBundlePemAsync();
        var second = await ca.GetBundlePemAsync();

        Assert.Equal(first, second);
        using var root = X509Certificate2.CreateFromPem(first);
        Assert.True(root.Extensions.OfType<X509BasicConstraintsExtension>().Single().CertificateAuthority);
    }

    [Fact]
    public async Task Root_and_key_survive_deactivation()
    {
        var trustDomain = NewTrustDomain();
        var ca = fixture.Client.GetGrain<ICertificateAuthorityGrain>(trustDomain);
        var bundle = await ca.GetBundlePemAsync();

        await fixture.Cluster.DeactivateAsync(ca);
        var svid = await ca.IssueAsync(Request($"spiffe://{trustDomain}/after-restart"));

        Assert.Equal(bundle, await ca.GetBundlePemAsync());
        Assert.Equal(bundle, svid.BundlePem);
        using var leaf = X509Certificate2.CreateFromPem(svid.CertificatePem);
        var result = X509SvidValidator.Validate(leaf, null, TrustBundleSet.FromPem(trustDomain, bundle), DateTimeOffset.UtcNow);
        Assert.True(result.IsValid, result.Error);
    }

    [Fact]
    public async Task Root_and_its_encrypted_private_key_are_written_to_a_private_ca_file()
    {
        var trustDomain = NewTrustDomain();
        var ca = fixture.Client.GetGrain<ICertificateAuthorityGrain>(trustDomain);
        var bundle = await ca.GetBundlePemAsync();

        var path = new FileCaStore(ClusterFixture.CaDirectory, new Fabric.Silo.Secrets.LocalSecretProtector(ClusterFixture.LocalSecretKey), TimeProvider.System)
            .PathFor(trustDomain);
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        }
        var text = await File.ReadAllTextAsync(path);
        Assert.DoesNotContain("PRIVATE KEY", text, StringComparison.Ordinal);
        using var json = System.Text.Json.JsonDocument.Parse(text);
        Assert.Equal(1, json.RootElement.GetProperty("sequence").GetInt64());
        var root = Assert.Single(json.RootElement.GetProperty("roots").EnumerateArray());
        Assert.Equal("Active", root.GetProperty("state").GetString());
        Assert.Equal(bundle.Trim(), root.GetProperty("certificatePem").GetString()!.Trim());
        var key = root.GetProperty("key");
        var encrypted = new Fabric.Silo.Secrets.EncryptedValue(
            key.GetProperty("nonce").GetBytesFromBase64(), key.GetProperty("ciphertext").GetBytesFromBase64(), key.GetProperty("tag").GetBytesFromBase64());
        var protector = new Fabric.Silo.Secrets.LocalSecretProtector(ClusterFixture.LocalSecretKey);
        var keyPem = protector.Decrypt(CaStore.KeyContext(trustDomain), encrypted);
        Assert.StartsWith("-----BEGIN PRIVATE KEY-----", keyPem, StringComparison.Ordinal);
        using var withKey = X509Certificate2.CreateFromPem(root.GetProperty("certificatePem").GetString()!, keyPem);
        Assert.True(withKey.HasPrivateKey);
        // Bound to its trust domain: the same ciphertext does not decrypt as another domain's key.
        Assert.ThrowsAny<System.Security.Cryptography.CryptographicException>(() => protector.Decrypt(CaStore.KeyContext("other.test"), encrypted));
    }

    [Fact]
    public async Task Issued_svid_validates_against_the_bundle_of_its_trust_domain()
    {
        var trustDomain = NewTrustDomain();
        var ca = fixture.Client.GetGrain<ICertificateAuthorityGrain>(trustDomain);

        var svid = await ca.IssueAsync(Request($"spiffe://{trustDomain}/agents/planner"));

        using var leaf = X509Certificate2.CreateFromPem(svid.CertificatePem);
        var bundles = TrustBundleSet.FromPem(trustDomain, await ca.GetBundlePemAsync());
        var result = X509SvidValidator.Validate(leaf, null, bundles, DateTimeOffset.UtcNow);
        Assert.True(result.IsValid, result.Error);
        Assert.Equal(SpiffeId.Parse($"spiffe://{trustDomain}/agents/planner"), result.Id);
        Assert.InRange(svid.ExpiresAt, DateTimeOffset.UtcNow.AddMinutes(50), DateTimeOffset.UtcNow.AddMinutes(61));
    }

    [Fact]
    public async Task Each_trust_domain_has_its_own_root()
    {
        var a = await fixture.Client.GetGrain<ICertificateAuthorityGrain>(NewTrustDomain()).GetBundlePemAsync();
        var b = await fixture.Client.GetGrain<ICertificateAuthorityGrain>(NewTrustDomain()).GetBundlePemAsync();

        Assert.NotEqual(a, b);
    }

    [Fact]
    public async Task Request_for_another_trust_domain_is_refused_with_an_argument_exception()
    {
        var ca = fixture.Client.GetGrain<ICertificateAuthorityGrain>(NewTrustDomain());

        var error = await Assert.ThrowsAsync<ArgumentException>(
            async () => await ca.IssueAsync(Request("spiffe://elsewhere.test/agents/planner")));

        Assert.Contains("this CA issues only for", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Grain_keyed_by_an_invalid_trust_domain_does_not_activate()
    {
        var ca = fixture.Client.GetGrain<ICertificateAuthorityGrain>("Not A Trust Domain");

        await Assert.ThrowsAnyAsync<Exception>(async () => await ca.GetBundlePemAsync());
    }

    private static string NewTrustDomain() => $"td-{Guid.NewGuid():N}.test";

    private static SvidRequest Request(string spiffeId) => new(spiffeId, TimeSpan.FromHours(1), [], []);
}
