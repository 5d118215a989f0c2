using System.Security.Cryptography.X509Certificates;
using Fabric.Contracts.Grains;
using Fabric.Contracts.Identity;
using Fabric.Silo.Identity;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Storage;

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
    public async Task Root_and_its_encrypted_private_key_are_written_to_fabric_storage()
    {
        var trustDomain = NewTrustDomain();
        var ca = fixture.Client.GetGrain<ICertificateAuthorityGrain>(trustDomain);
        var bundle = await ca.GetBundlePemAsync();

        var storage = fixture.SiloServices.GetRequiredKeyedService<IGrainStorage>("fabric");
        var state = new GrainState<CertificateAuthorityState>();
        await storage.ReadStateAsync("ca", ca.GetGrainId(), state);

        Assert.True(state.RecordExists);
        var stored = state.State;
        Assert.NotNull(stored);
        Assert.Equal(bundle, stored.RootCertificatePem);
        Assert.NotNull(stored.RootPrivateKey);
        Assert.Equal(-1, stored.RootPrivateKey.Ciphertext.AsSpan().IndexOf("PRIVATE KEY"u8));
        var protector = new Fabric.Silo.Secrets.LocalSecretProtector(ClusterFixture.LocalSecretKey);
        var keyPem = protector.Decrypt(CertificateAuthorityState.KeyContext(trustDomain), stored.RootPrivateKey);
        Assert.StartsWith("-----BEGIN PRIVATE KEY-----", keyPem, StringComparison.Ordinal);
        using var withKey = X509Certificate2.CreateFromPem(stored.RootCertificatePem, keyPem);
        Assert.True(withKey.HasPrivateKey);
        Assert.InRange(stored.CreatedAt, DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow);
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
