using System.Text;
using Fabric.Edge.Filters;
using static Fabric.Edge.Tests.Filters.CredentialEchoes;

namespace Fabric.Edge.Tests.Filters;

public sealed class CredentialNeedlesTests
{
    [Fact]
    public void Never_shows_a_value()
    {
        var needles = CredentialNeedles.For([Tricky, Header(Tricky)]);

        var text = needles.ToString();

        Assert.DoesNotContain("sk", text, StringComparison.Ordinal);
        Assert.DoesNotContain("Bearer", text, StringComparison.Ordinal);
        Assert.Contains("values=2", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Holds_each_form_once()
    {
        var needles = CredentialNeedles.For([Tricky, Tricky, Header(Tricky)]);

        var all = Enumerable.Range(0, needles.Count).Select(i => Convert.ToHexString(needles[i])).ToList();

        Assert.Equal(all.Count, all.Distinct().Count());
        Assert.Contains(Convert.ToHexString(Encoding.UTF8.GetBytes(Tricky)), all);
        Assert.Contains(Convert.ToHexString(Encoding.UTF8.GetBytes("sk\\u002B/=\\u003C\\u003E\\u0026\\u0022\\u00E9")), all);
    }

    [Fact]
    public void Ignores_empty_values()
    {
        Assert.True(CredentialNeedles.For(["", ""]).IsEmpty);
        Assert.Same(CredentialNeedles.Empty, CredentialNeedles.For([]));
    }

    [Fact]
    public void Still_masks_a_value_shorter_than_the_floor_and_says_so()
    {
        var needles = CredentialNeedles.For(["abc"]);
        var body = "x abc y YWJj z"u8.ToArray();

        Assert.True(needles.HasShortValue);
        Assert.Equal(2, CredentialRedactor.MaskInPlace(needles, body));
        Assert.Equal("x *** y **** z", Encoding.UTF8.GetString(body));
    }

    [Theory]
    [InlineData("Bearer sk-", 10)]   // a proper prefix of the header value
    [InlineData("xx Bearer", 6)]
    [InlineData("data: ok\n\n", 0)]  // an SSE event end starts no needle
    [InlineData("sk-abcdefgh", 0)]   // a whole needle is not pending: it has been seen
    [InlineData("sk-abcdefg", 10)]
    public void Finds_the_longest_pending_prefix(string window, int expected)
    {
        var needles = CredentialNeedles.For(["sk-abcdefgh", "Bearer sk-abcdefgh"]);

        Assert.Equal(expected, needles.PendingPrefixLength(Encoding.UTF8.GetBytes(window)));
    }
}
