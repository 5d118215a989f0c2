using System.Text;
using Fabric.Edge.Filters;
using static Fabric.Edge.Tests.Filters.CredentialEchoes;

namespace Fabric.Edge.Tests.Filters;

public sealed class CredentialRedactorTests
{
    private const string Before = "{\"jsonrpc\":\"2.0\",\"result\":{\"echo\":\"";
    private const string After = "\",\"note\":\"sk and Bearer are fine\"}}\n";

    // (secret, encoding, echo of the header value instead of the secret, expected matches).
    // A header-value echo also contains the secret's own form (2); a padded base64 echo matches the padded
    // and the unpadded needle (2); "Bearer " + Tricky is 18 bytes, so its base64 has no padding (1).
    public static TheoryData<string, string, bool, int> Echoes => new()
    {
        { Tricky, "raw", false, 1 }, { Tricky, "raw", true, 2 },
        { Tricky, "json-default", false, 1 }, { Tricky, "json-default", true, 2 },
        { Tricky, "json-default-slash", false, 1 }, { Tricky, "json-default-slash", true, 2 },
        { Tricky, "json-default-lowerhex", false, 1 }, { Tricky, "json-default-lowerhex", true, 2 },
        { Tricky, "json-relaxed", false, 1 }, { Tricky, "json-relaxed", true, 2 },
        { Tricky, "json-relaxed-slash", false, 1 }, { Tricky, "json-relaxed-slash", true, 2 },
        { Tricky, "json-ascii", false, 1 }, { Tricky, "json-ascii", true, 2 },
        { Tricky, "url-rfc3986", false, 1 }, { Tricky, "url-rfc3986", true, 2 },
        { Tricky, "url-rfc3986-lowerhex", false, 1 }, { Tricky, "url-rfc3986-lowerhex", true, 2 },
        { Tricky, "url-form", false, 1 }, { Tricky, "url-form", true, 2 },
        { Tricky, "url-form-lowerhex", false, 1 }, { Tricky, "url-form-lowerhex", true, 2 },
        { Tricky, "base64", false, 2 }, { Tricky, "base64", true, 1 },
        { Tricky, "base64-unpadded", false, 1 }, { Tricky, "base64-unpadded", true, 1 },
        { Tricky, "base64url", false, 2 }, { Tricky, "base64url", true, 1 },
        { Tricky, "base64url-unpadded", false, 1 }, { Tricky, "base64url-unpadded", true, 1 },
        { Base64Tricky, "base64", false, 2 }, { Base64Tricky, "base64", true, 2 },
        { Base64Tricky, "base64url", false, 2 }, { Base64Tricky, "base64url", true, 2 },
        { Base64Tricky, "base64url-unpadded", false, 1 }, { Base64Tricky, "base64url-unpadded", true, 1 },
        { Base64Tricky, "json-default-of-base64", false, 2 }, { Base64Tricky, "json-default-of-base64", true, 2 },
        { Base64Tricky, "json-default-slash-of-base64", false, 2 }, { Base64Tricky, "json-default-slash-of-base64", true, 2 },
    };

    [Theory]
    [MemberData(nameof(Echoes))]
    public void Masks_every_encoding_of_the_secret_and_the_header_value(string secret, string encoding, bool ofHeader, int expected)
    {
        var echo = Encode(encoding, ofHeader ? Header(secret) : secret);
        var body = Encoding.UTF8.GetBytes(Before + echo + After);
        var needles = CredentialNeedles.For([secret, Header(secret)]);
        var length = body.Length;

        var count = CredentialRedactor.MaskInPlace(needles, body);

        Assert.Equal(expected, count);
        Assert.Equal(length, body.Length);
        var before = Encoding.UTF8.GetByteCount(Before);
        var echoed = Encoding.UTF8.GetByteCount(echo);
        Assert.Equal(Before, Encoding.UTF8.GetString(body, 0, before));
        Assert.All(body[before..(before + echoed)], b => Assert.Equal((byte)'*', b));
        Assert.Equal(After, Encoding.UTF8.GetString(body, before + echoed, body.Length - before - echoed));
    }

    [Fact]
    public void Masks_every_occurrence_including_overlapping_ones()
    {
        var needles = CredentialNeedles.For(["abababab"]);
        var body = "x abababababab y abababab z"u8.ToArray();

        var count = CredentialRedactor.MaskInPlace(needles, body);

        // "abababababab" holds the needle at offsets 0, 2 and 4.
        Assert.Equal(4, count);
        Assert.Equal("x ************ y ******** z", Encoding.UTF8.GetString(body));
    }

    [Fact]
    public void Leaves_a_body_without_the_secret_untouched()
    {
        var needles = CredentialNeedles.For([Tricky, Header(Tricky)]);
        var body = Encoding.UTF8.GetBytes(Before + "sk+/=<>& almost" + After);
        var copy = body.ToArray();

        Assert.Equal(0, CredentialRedactor.MaskInPlace(needles, body));
        Assert.Equal(copy, body);
    }

    [Fact]
    public void Masks_a_header_value_that_echoes_the_secret()
    {
        var needles = CredentialNeedles.For([Tricky, Header(Tricky)]);

        var masked = CredentialRedactor.MaskHeader(needles, "echo=" + Uri.EscapeDataString(Tricky) + "; path=/", out var count);

        Assert.Equal(1, count);
        Assert.Equal("echo=" + new string('*', Uri.EscapeDataString(Tricky).Length) + "; path=/", masked);
    }

    [Fact]
    public void Masks_a_header_value_decoded_as_latin1_and_as_utf8()
    {
        var needles = CredentialNeedles.For([Tricky]);
        // SocketsHttpHandler decodes response headers as Latin-1 by default: 'é' arrives as "Ã©".
        var latin1 = Encoding.Latin1.GetString(Encoding.UTF8.GetBytes("x " + Tricky));

        Assert.Equal("x " + new string('*', 11), CredentialRedactor.MaskHeader(needles, latin1, out var fromLatin1));
        Assert.Equal("x " + new string('*', 11), CredentialRedactor.MaskHeader(needles, "x " + Tricky, out var fromUtf8));
        Assert.Equal(1, fromLatin1);
        Assert.Equal(1, fromUtf8);
    }

    [Fact]
    public void Returns_the_same_header_instance_when_nothing_matches()
    {
        var needles = CredentialNeedles.For([Tricky]);
        var value = "text/event-stream; charset=é";

        Assert.Same(value, CredentialRedactor.MaskHeader(needles, value, out var count));
        Assert.Equal(0, count);
    }
}
