using Fabric.Contracts.Identity;

namespace Fabric.Contracts.Tests.Identity;

public class SpiffeIdPatternTests
{
    [Theory]
    [InlineData("spiffe://td/a/b", "spiffe://td/a/b", true)]
    [InlineData("spiffe://td/a/b", "spiffe://td/a/b/c", false)]
    [InlineData("spiffe://td/a/b", "spiffe://td/a/bc", false)]
    [InlineData("spiffe://td/a/b", "spiffe://other/a/b", false)]
    [InlineData("spiffe://td/a/*", "spiffe://td/a/b", true)]
    [InlineData("spiffe://td/a/*", "spiffe://td/a/b/c", true)]
    [InlineData("spiffe://td/a/*", "spiffe://td/a", false)]     // under /a/, not /a itself
    [InlineData("spiffe://td/a/*", "spiffe://td/ab", false)]    // a prefix of segments, not of characters
    [InlineData("spiffe://td/a/*", "spiffe://td/A/b", false)]   // paths are case-sensitive
    [InlineData("spiffe://td/a/*", "spiffe://tdx/a/b", false)]
    [InlineData("spiffe://td/*", "spiffe://td/x", true)]
    [InlineData("spiffe://td/*", "spiffe://td/x/y/z", true)]
    [InlineData("spiffe://td/*", "spiffe://td", false)]         // the trust domain's own ID is no workload
    [InlineData("spiffe://td/*", "spiffe://td2/x", false)]
    public void Matches(string pattern, string id, bool expected) =>
        Assert.Equal(expected, SpiffeIdPattern.Parse(pattern).Matches(SpiffeId.Parse(id)));

    [Theory]
    [InlineData("spiffe://td/a/b")]
    [InlineData("spiffe://td/a/*")]
    [InlineData("spiffe://td/*")]
    [InlineData("spiffe://example.org/ns/prod/sa/agent")]
    public void Round_trips_valid_patterns(string value)
    {
        Assert.True(SpiffeIdPattern.TryParse(value, out var pattern, out var error), error);
        Assert.Equal(value, pattern.ToString());
        Assert.Equal(pattern, SpiffeIdPattern.Parse(value));
    }

    [Theory]
    [InlineData(null, "required")]
    [InlineData("", "required")]
    [InlineData("spiffe://td", "workload")]                     // names no workload
    [InlineData("spiffe://td/*/b", "'*'")]                      // '*' only as the last segment
    [InlineData("spiffe://td/a*", "'*'")]
    [InlineData("spiffe://td/a/b*", "'*'")]
    [InlineData("spiffe://*", "'*'")]
    [InlineData("spiffe://td/a/**", "'*'")]
    [InlineData("spiffe://TD/a", "lower-case")]
    [InlineData("spiffe://td/a/", "end with '/'")]
    [InlineData("spiffe://td//*", "end with '/'")]
    [InlineData("spiffe://td/a/../*", "'..'")]
    [InlineData("https://td/a", "scheme")]
    [InlineData("spiffe://td:443/a", "port")]
    public void Rejects_invalid_patterns(string? value, string expectedErrorPart)
    {
        Assert.False(SpiffeIdPattern.TryParse(value, out var pattern, out var error));
        Assert.Null(pattern);
        Assert.Contains(expectedErrorPart, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_throws_a_format_exception() =>
        Assert.Throws<FormatException>(() => SpiffeIdPattern.Parse("spiffe://td/*/x"));

    [Theory]
    [InlineData("spiffe://td/fabric", true)]
    [InlineData("spiffe://td/fabric/*", true)]
    [InlineData("spiffe://td/fabric/edge/e1", true)]
    [InlineData("spiffe://td/fabric/edge/*", true)]
    [InlineData("spiffe://other.example/fabric/silo", true)]
    [InlineData("spiffe://td/*", false)]
    [InlineData("spiffe://td/fabricate", false)]
    [InlineData("spiffe://td/fabricate/*", false)]
    [InlineData("spiffe://td/Fabric/edge", false)]
    [InlineData("spiffe://td/agents/fabric/*", false)]
    public void Is_reserved_when_its_literal_part_lies_under_fabric(string pattern, bool expected) =>
        Assert.Equal(expected, SpiffeIdPattern.Parse(pattern).IsReserved);
}
