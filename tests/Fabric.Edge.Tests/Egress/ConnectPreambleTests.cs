using System.Buffers;
using System.Text;
using Fabric.Edge.Egress;

namespace Fabric.Edge.Tests.Egress;

/// <summary>The forward proxy's one accepted request, read strictly: every other shape a client (or an attacker) sends is refused.</summary>
public sealed class ConnectPreambleTests
{
    private static ConnectPreamble? Parse(string text, out string? error) => ConnectPreamble.Parse(Encoding.Latin1.GetBytes(text), out error);

    [Theory]
    [InlineData("CONNECT api.github.com:443 HTTP/1.1\r\nHost: api.github.com:443\r\n\r\n", "api.github.com", 443)]
    [InlineData("CONNECT API.GitHub.com:443 HTTP/1.1\r\n\r\n", "api.github.com", 443)]           // DNS names compare lower-case
    [InlineData("CONNECT 127.0.0.1:8443 HTTP/1.0\r\n\r\n", "127.0.0.1", 8443)]                    // Python's http.client
    [InlineData("CONNECT [::1]:443 HTTP/1.1\r\n\r\n", "::1", 443)]
    public void Accepts_a_connect_to_a_host_and_port(string text, string host, int port)
    {
        var preamble = Parse(text, out var error);
        Assert.True(preamble is not null, error);
        Assert.Equal((host, port), (preamble.Host, preamble.Port));
    }

    [Theory]
    [InlineData("GET http://api.github.com/ HTTP/1.1\r\n\r\n", "only CONNECT")]                 // plaintext proxying
    [InlineData("connect api.github.com:443 HTTP/1.1\r\n\r\n", "only CONNECT")]
    [InlineData("CONNECT api.github.com:443 HTTP/2\r\n\r\n", "request line")]
    [InlineData("CONNECT  api.github.com:443 HTTP/1.1\r\n\r\n", "request line")]
    [InlineData("CONNECT api.github.com HTTP/1.1\r\n\r\n", "host:port")]                       // no port
    [InlineData("CONNECT api.github.com:0443 HTTP/1.1\r\n\r\n", "host:port")]
    [InlineData("CONNECT api.github.com:65536 HTTP/1.1\r\n\r\n", "host:port")]
    [InlineData("CONNECT 127.1:443 HTTP/1.1\r\n\r\n", "host:port")]                           // non-canonical IP literals
    [InlineData("CONNECT 0x7f000001:443 HTTP/1.1\r\n\r\n", "host:port")]
    [InlineData("CONNECT 2130706433:443 HTTP/1.1\r\n\r\n", "host:port")]
    [InlineData("CONNECT [0:0:0:0:0:0:0:1]:443 HTTP/1.1\r\n\r\n", "host:port")]
    [InlineData("CONNECT user@api.github.com:443 HTTP/1.1\r\n\r\n", "host:port")]
    [InlineData("CONNECT api_github.com:443 HTTP/1.1\r\n\r\n", "host:port")]
    [InlineData("CONNECT -api.github.com:443 HTTP/1.1\r\n\r\n", "host:port")]
    [InlineData("CONNECT api.github.com:443 HTTP/1.1\r\nProxy-Authorization: Basic a\r\nproxy-authorization: Basic b\r\n\r\n", "more than once")]
    [InlineData("CONNECT api.github.com:443 HTTP/1.1\r\nX-A: b\r\n c\r\n\r\n", "folded")]       // obs-fold
    [InlineData("CONNECT api.github.com:443 HTTP/1.1\nHost: x\r\n\r\n", "CRLF")]               // a bare LF
    [InlineData("CONNECT api.github.com:443 HTTP/1.1\r\nHost : x\r\n\r\n", "malformed")]
    [InlineData("CONNECT api.gîthub.com:443 HTTP/1.1\r\n\r\n", "printable ASCII")]
    [InlineData("CONNECT api.github.com:443 HTTP/1.1\r\nX: \0\r\n\r\n", "printable ASCII")]
    public void Refuses_anything_else_saying_why(string text, string why)
    {
        Assert.Null(Parse(text, out var error));
        Assert.Contains(why, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Finds_the_end_of_the_head_and_gives_up_past_the_limit()
    {
        Assert.Equal(0, ConnectPreamble.FindEnd(new ReadOnlySequence<byte>("CONNECT a:1 HTTP/1.1\r\n"u8.ToArray())));
        var head = "CONNECT a:1 HTTP/1.1\r\n\r\n"u8.ToArray();
        Assert.Equal(head.Length, ConnectPreamble.FindEnd(new ReadOnlySequence<byte>([.. head, .. "\u0016\u0003\u0001"u8.ToArray()])));
        Assert.Equal(-1, ConnectPreamble.FindEnd(new ReadOnlySequence<byte>(new byte[ConnectPreamble.MaxBytes])));
    }
}
