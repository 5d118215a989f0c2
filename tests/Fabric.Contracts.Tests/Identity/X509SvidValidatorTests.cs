using System.Security.Cryptography.X509Certificates;
using Fabric.Contracts.Identity;
using static Fabric.Contracts.Tests.Identity.TestCertificates;

namespace Fabric.Contracts.Tests.Identity;

/// <summary>The validation rules of spiffe/spiffe standards/X509-SVID.md §5, one failure mode per test.</summary>
public sealed class X509SvidValidatorTests : IDisposable
{
    private readonly X509Certificate2 _caA = CreateCa("td-a");
    private readonly X509Certificate2 _caB = CreateCa("td-b");
    private readonly TrustBundleSet _bundles;

    public X509SvidValidatorTests()
    {
        _bundles = TrustBundleSet.Empty.With("td-a", [_caA]).With("td-b", [_caB]);
    }

    public void Dispose()
    {
        _caA.Dispose();
        _caB.Dispose();
    }

    [Fact]
    public void Valid_leaf_passes_and_yields_its_spiffe_id()
    {
        using var leaf = CreateLeaf(_caA, new LeafSpec());

        var result = X509SvidValidator.Validate(leaf, null, _bundles, Now);

        Assert.True(result.IsValid, result.Error);
        Assert.Equal(SpiffeId.Parse("spiffe://td-a/workload"), result.Id);
        Assert.Null(result.Error);
    }

    [Fact]
    public void Leaf_with_two_uri_sans_is_rejected()
    {
        using var leaf = CreateLeaf(_caA, new LeafSpec { Uris = ["spiffe://td-a/one", "spiffe://td-a/two"] });

        AssertInvalid(leaf, "certificate has 2 URI SANs; an X509-SVID has exactly one");
    }

    [Fact]
    public void Leaf_with_a_uri_san_and_a_non_spiffe_uri_san_is_rejected()
    {
        using var leaf = CreateLeaf(_caA, new LeafSpec { Uris = ["spiffe://td-a/one", "https://example.org/"] });

        AssertInvalid(leaf, "certificate has 2 URI SANs; an X509-SVID has exactly one");
    }

    [Fact]
    public void Leaf_with_only_a_dns_san_is_rejected()
    {
        using var leaf = CreateLeaf(_caA, new LeafSpec { RawSubjectAltName = EncodeDnsName("workload.td-a") });

        AssertInvalid(leaf, "certificate has no URI SAN; an X509-SVID has exactly one");
    }

    [Fact]
    public void Leaf_without_subject_alt_name_is_rejected()
    {
        using var leaf = CreateLeaf(_caA, new LeafSpec { Uris = [] });

        AssertInvalid(leaf, "certificate has no URI SAN; an X509-SVID has exactly one");
    }

    [Fact]
    public void Leaf_with_malformed_subject_alt_name_is_rejected()
    {
        using var leaf = CreateLeaf(_caA, new LeafSpec { RawSubjectAltName = [0x30, 0x05, 0x86, 0x01] });

        AssertInvalid(leaf, "certificate has a malformed subjectAltName extension");
    }

    [Theory]
    [InlineData("https://td-a/workload", "the scheme must be 'spiffe://'")]
    [InlineData("spiffe://TD-A/workload", "the trust domain must be lower-case")]
    [InlineData("spiffe://td-a/workload/", "the path must not end with '/'")]
    [InlineData("spiffe://td-a/a/../b", "the path must not contain '.' or '..' segments")]
    public void Leaf_whose_uri_san_is_not_a_valid_spiffe_id_is_rejected(string uri, string reason)
    {
        using var leaf = CreateLeaf(_caA, new LeafSpec { Uris = [uri] });

        AssertInvalid(leaf, "URI SAN is not a valid SPIFFE ID: " + reason);
    }

    [Fact]
    public void Leaf_with_the_root_id_of_its_trust_domain_is_rejected()
    {
        using var leaf = CreateLeaf(_caA, new LeafSpec { Uris = ["spiffe://td-a"] });

        AssertInvalid(leaf, "SPIFFE ID 'spiffe://td-a' has no path; a leaf SVID needs a workload path");
    }

    [Fact]
    public void Leaf_that_is_a_ca_is_rejected()
    {
        using var leaf = CreateLeaf(_caA, new LeafSpec { IsCa = true });

        AssertInvalid(leaf, "certificate is a CA (basicConstraints cA=true); an X509-SVID leaf must not be");
    }

    [Fact]
    public void Leaf_without_basic_constraints_passes()
    {
        using var leaf = CreateLeaf(_caA, new LeafSpec { IsCa = null });

        Assert.True(X509SvidValidator.Validate(leaf, null, _bundles, Now).IsValid);
    }

    [Fact]
    public void Leaf_with_key_cert_sign_is_rejected()
    {
        using var leaf = CreateLeaf(_caA, new LeafSpec
        {
            KeyUsage = X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyCertSign,
        });

        AssertInvalid(leaf, "certificate has keyCertSign key usage; an X509-SVID leaf must not");
    }

    [Fact]
    public void Leaf_with_crl_sign_is_rejected()
    {
        using var leaf = CreateLeaf(_caA, new LeafSpec
        {
            KeyUsage = X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.CrlSign,
        });

        AssertInvalid(leaf, "certificate has cRLSign key usage; an X509-SVID leaf must not");
    }

    [Fact]
    public void Leaf_without_digital_signature_is_rejected()
    {
        using var leaf = CreateLeaf(_caA, new LeafSpec { KeyUsage = X509KeyUsageFlags.KeyAgreement });

        AssertInvalid(leaf, "certificate lacks digitalSignature key usage; an X509-SVID leaf must have it");
    }

    [Fact]
    public void Leaf_without_key_usage_is_rejected()
    {
        using var leaf = CreateLeaf(_caA, new LeafSpec { KeyUsage = null });

        AssertInvalid(leaf, "certificate has no key usage extension; an X509-SVID must have one");
    }

    [Fact]
    public void Expired_leaf_is_rejected()
    {
        using var leaf = CreateLeaf(_caA, new LeafSpec
        {
            NotBeforeOffset = TimeSpan.FromHours(-2),
            NotAfterOffset = TimeSpan.FromSeconds(-1),
        });

        AssertInvalid(leaf, "certificate has expired");
    }

    [Fact]
    public void Not_yet_valid_leaf_is_rejected()
    {
        using var leaf = CreateLeaf(_caA, new LeafSpec
        {
            NotBeforeOffset = TimeSpan.FromSeconds(2),
            NotAfterOffset = TimeSpan.FromHours(1),
        });

        AssertInvalid(leaf, "certificate is not yet valid");
    }

    [Fact]
    public void Leaf_of_td_a_signed_by_the_ca_of_td_b_is_rejected_though_td_b_is_trusted()
    {
        using var leaf = CreateLeaf(_caB, new LeafSpec { Uris = ["spiffe://td-a/workload"] });

        var result = X509SvidValidator.Validate(leaf, null, _bundles, Now);

        Assert.False(result.IsValid);
        Assert.StartsWith("certificate does not chain to the trust bundle of 'td-a'", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Leaf_of_an_unknown_trust_domain_is_rejected()
    {
        using var caC = CreateCa("td-c");
        using var leaf = CreateLeaf(caC, new LeafSpec { Uris = ["spiffe://td-c/workload"] });

        AssertInvalid(leaf, "no trust bundle for trust domain 'td-c'");
    }

    [Fact]
    public void Self_signed_leaf_is_rejected()
    {
        using var leaf = CreateSelfSignedLeaf(new LeafSpec());

        var result = X509SvidValidator.Validate(leaf, null, _bundles, Now);

        Assert.False(result.IsValid);
        Assert.StartsWith("certificate does not chain to the trust bundle of 'td-a'", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Leaf_signed_by_an_impostor_ca_with_the_trusted_ca_name_is_rejected()
    {
        using var impostor = CreateCa("td-a", subjectName: _caA.Subject);
        using var leaf = CreateLeaf(impostor, new LeafSpec());

        var result = X509SvidValidator.Validate(leaf, null, _bundles, Now);

        Assert.False(result.IsValid);
        Assert.StartsWith("certificate does not chain to the trust bundle of 'td-a'", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Leaf_issued_by_an_intermediate_passes_when_the_intermediate_is_presented()
    {
        using var intermediate = CreateCa("td-a", issuer: _caA);
        using var leaf = CreateLeaf(intermediate, new LeafSpec());

        var result = X509SvidValidator.Validate(leaf, [intermediate], _bundles, Now);

        Assert.True(result.IsValid, result.Error);
        Assert.Equal("spiffe://td-a/workload", result.Id.ToString());
    }

    [Fact]
    public void Leaf_issued_by_an_intermediate_is_rejected_when_the_intermediate_is_missing()
    {
        using var intermediate = CreateCa("td-a", issuer: _caA);
        using var leaf = CreateLeaf(intermediate, new LeafSpec());

        var result = X509SvidValidator.Validate(leaf, null, _bundles, Now);

        Assert.False(result.IsValid);
        Assert.StartsWith("certificate does not chain to the trust bundle of 'td-a'", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_is_repeatable_and_leaves_the_bundle_usable()
    {
        using var leaf = CreateLeaf(_caA, new LeafSpec());

        for (var i = 0; i < 3; i++)
        {
            Assert.True(X509SvidValidator.Validate(leaf, null, _bundles, Now).IsValid);
        }
        Assert.True(_bundles.TryGet("td-a", out var roots));
        Assert.Equal(_caA.Thumbprint, Assert.Single(roots).Thumbprint);
    }

    [Fact]
    public void Null_leaf_is_an_error_not_an_exception()
    {
        var result = X509SvidValidator.Validate(null!, null, _bundles, Now);

        Assert.Equal("no certificate was presented", result.Error);
    }

    [Fact]
    public void ValidateExpected_accepts_the_expected_id()
    {
        using var leaf = CreateLeaf(_caA, new LeafSpec());

        var result = X509SvidValidator.ValidateExpected(leaf, null, _bundles, Now, SpiffeId.Parse("spiffe://td-a/workload"));

        Assert.True(result.IsValid, result.Error);
    }

    [Fact]
    public void ValidateExpected_rejects_a_valid_svid_for_another_id()
    {
        using var leaf = CreateLeaf(_caA, new LeafSpec());

        var result = X509SvidValidator.ValidateExpected(leaf, null, _bundles, Now, SpiffeId.Parse("spiffe://td-a/other"));

        Assert.False(result.IsValid);
        Assert.Equal("certificate is for 'spiffe://td-a/workload', expected 'spiffe://td-a/other'", result.Error);
    }

    [Fact]
    public void ValidateExpected_reports_the_validation_error_first()
    {
        using var leaf = CreateLeaf(_caA, new LeafSpec { IsCa = true });

        var result = X509SvidValidator.ValidateExpected(leaf, null, _bundles, Now, SpiffeId.Parse("spiffe://td-a/workload"));

        Assert.Equal("certificate is a CA (basicConstraints cA=true); an X509-SVID leaf must not be", result.Error);
    }

    private void AssertInvalid(X509Certificate2 leaf, string error)
    {
        var result = X509SvidValidator.Validate(leaf, null, _bundles, Now);

        Assert.False(result.IsValid);
        Assert.Null(result.Id);
        Assert.Equal(error, result.Error);
    }
}
