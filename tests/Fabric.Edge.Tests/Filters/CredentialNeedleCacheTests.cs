using Fabric.Contracts.Servers;
using Fabric.Edge.Filters;

namespace Fabric.Edge.Tests.Filters;

public sealed class CredentialNeedleCacheTests
{
    [Theory]
    [InlineData("Bearer {secret}", "Bearer sk-123456789", new[] { "Bearer sk-123456789", "sk-123456789" })]
    [InlineData("{secret}", "sk-123456789", new[] { "sk-123456789" })]
    [InlineData("token={secret};v=1", "token=abcdefghij;v=1", new[] { "token=abcdefghij;v=1", "abcdefghij" })]
    [InlineData("Bearer {secret}", "Basic other-value", new[] { "Basic other-value" })] // not of the format: the header value only
    public void Scans_for_the_header_value_and_the_secret_inside_it(string format, string headerValue, string[] values) =>
        Assert.Equal(values, CredentialNeedleCache.ValuesOf(headerValue, new InjectSpec("Authorization", format)));

    [Fact]
    public void Builds_the_needles_once_per_credential()
    {
        var credential = new Credential { LeaseId = "l1", Source = "local", HeaderName = "Authorization", HeaderValue = "Bearer sk-123456789", ExpiresAt = DateTimeOffset.MaxValue };
        var inject = new InjectSpec("Authorization", "Bearer {secret}");
        Assert.Same(CredentialNeedleCache.For(credential, inject), CredentialNeedleCache.For(credential, inject));
        Assert.DoesNotContain("sk-123456789", CredentialNeedleCache.For(credential, inject).ToString(), StringComparison.Ordinal);
    }
}
