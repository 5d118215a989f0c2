using System.Security.Cryptography.X509Certificates;
using Fabric.Contracts.Identity;

namespace Fabric.Contracts.Tests.Identity;

public sealed class TrustBundleSetTests
{
    [Fact]
    public void FromPem_reads_every_certificate_of_the_bundle()
    {
        using var first = TestCertificates.CreateCa("td-a");
        using var second = TestCertificates.CreateCa("td-a");
        var pem = first.ExportCertificatePem() + "\n" + second.ExportCertificatePem();

        var set = TrustBundleSet.FromPem("td-a", pem);

        Assert.True(set.TryGet("td-a", out var roots));
        Assert.Equal([first.Thumbprint, second.Thumbprint], roots.Select(r => r.Thumbprint));
        Assert.Equal(["td-a"], set.TrustDomains);
    }

    [Fact]
    public void With_returns_a_new_set_and_leaves_the_old_one_alone()
    {
        using var ca = TestCertificates.CreateCa("td-a");

        var set = TrustBundleSet.Empty.With("td-a", [ca]);

        Assert.Empty(TrustBundleSet.Empty.TrustDomains);
        Assert.False(TrustBundleSet.Empty.TryGet("td-a", out _));
        Assert.Equal(["td-a"], set.TrustDomains);
    }

    [Fact]
    public void Collections_going_in_and_out_are_copies()
    {
        using var ca = TestCertificates.CreateCa("td-a");
        using var other = TestCertificates.CreateCa("td-b");
        var input = new X509Certificate2Collection(ca);
        var set = TrustBundleSet.Empty.With("td-a", input);

        input.Add(other);
        Assert.True(set.TryGet("td-a", out var output));
        output.Add(other);

        Assert.True(set.TryGet("td-a", out var again));
        Assert.Single(again);
    }

    [Theory]
    [InlineData("")]
    [InlineData("TD-A")]
    [InlineData("td-a:443")]
    public void With_rejects_an_invalid_trust_domain(string trustDomain)
    {
        using var ca = TestCertificates.CreateCa("td-a");

        Assert.Throws<ArgumentException>(() => TrustBundleSet.Empty.With(trustDomain, [ca]));
    }

    [Fact]
    public void With_rejects_an_empty_bundle()
    {
        Assert.Throws<ArgumentException>(() => TrustBundleSet.Empty.With("td-a", []));
    }
}
