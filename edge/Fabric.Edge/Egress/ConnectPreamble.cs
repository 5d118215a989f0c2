using System.Buffers;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Fabric.Edge.Egress;

/// <summary>
/// The one request the egress proxy accepts on a fresh connection: <c>CONNECT host:port HTTP/1.1</c> (or 1.0; RFC 9110 §9.3.6,
/// authority-form) with its header block, read strictly. Anything else (a plaintext proxy request, an absolute-form
/// GET, obs-fold, a bare LF, a duplicate <c>Proxy-Authorization</c>, a host that is not a DNS name or a canonical IP
/// literal, a missing port) is refused: the fabric never forwards plaintext and never guesses what a request meant.
/// </summary>
internal sealed record ConnectPreamble(string Host, int Port, string? ProxyAuthorization)
{
    public const int MaxBytes = 8 * 1024;
    private const int MaxHeaders = 64;

    /// <summary>The host as a key (<c>host:port</c>, IPv6 in brackets), as targets are matched.</summary>
    public string Authority => (Host.Contains(':', StringComparison.Ordinal) ? "[" + Host + "]" : Host) + ":" + Port;

    /// <summary>
    /// Finds the end of the preamble in <paramref name="buffer"/>: the number of bytes it takes (to "\r\n\r\n" included),
    /// or 0 when more bytes are needed, or -1 when it can never be one (too long).
    /// </summary>
    public static int FindEnd(ReadOnlySequence<byte> buffer)
    {
        var reader = new SequenceReader<byte>(buffer);
        if (reader.TryReadTo(out ReadOnlySequence<byte> head, "\r\n\r\n"u8, advancePastDelimiter: true))
        {
            return head.Length + 4 > MaxBytes ? -1 : (int)(head.Length + 4);
        }
        return buffer.Length >= MaxBytes ? -1 : 0;
    }

    /// <summary>Parses a complete preamble (as <see cref="FindEnd"/> delimited it), or says why not.</summary>
    public static ConnectPreamble? Parse(ReadOnlySpan<byte> preamble, out string? error)
    {
        error = null;
        foreach (var b in preamble)
        {
            if (b >= 0x80 || (b < 0x20 && b is not (byte)'\r' and not (byte)'\n' and not (byte)'\t'))
            {
                error = "the request holds bytes that are not printable ASCII";
                return null;
            }
        }
        var text = Encoding.ASCII.GetString(preamble[..^4]);
        var lines = text.Split("\r\n");
        if (lines.Any(l => l.Contains('\n', StringComparison.Ordinal) || l.Contains('\r', StringComparison.Ordinal)))
        {
            error = "lines end with CRLF, and only there";
            return null;
        }
        var requestLine = lines[0].Split(' ');
        // HTTP/1.0 too: Python's http.client (and so requests, urllib3) tunnels with "CONNECT host:port HTTP/1.0".
        if (requestLine.Length != 3 || requestLine[2] is not ("HTTP/1.1" or "HTTP/1.0"))
        {
            error = "the request line is not 'METHOD target HTTP/1.1'";
            return null;
        }
        if (requestLine[0] != "CONNECT")
        {
            error = "only CONNECT is accepted: the fabric does not forward plaintext requests";
            return null;
        }
        if (!TryParseAuthority(requestLine[1], out var host, out var port))
        {
            error = "the CONNECT target is not host:port (a DNS name or a canonical IP literal, and a port)";
            return null;
        }
        string? authorization = null;
        var headers = lines.AsSpan(1);
        if (headers.Length > MaxHeaders)
        {
            error = "too many headers";
            return null;
        }
        foreach (var line in headers)
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0 || line[0] is ' ' or '\t' || line[..colon].Any(c => c is ' ' or '\t'))
            {
                error = "a header line is malformed (or folded)";
                return null;
            }
            if (line[..colon].Equals("Proxy-Authorization", StringComparison.OrdinalIgnoreCase))
            {
                if (authorization is not null)
                {
                    error = "Proxy-Authorization appears more than once";
                    return null;
                }
                authorization = line[(colon + 1)..].Trim(' ', '\t');
            }
        }
        return new ConnectPreamble(host, port, authorization);
    }

    /// <summary>host:port with a lower-case DNS name, a canonical IPv4 literal or a bracketed canonical IPv6 literal.</summary>
    public static bool TryParseAuthority(string authority, [NotNullWhen(true)] out string? host, out int port)
    {
        host = null;
        port = 0;
        var colon = authority.LastIndexOf(':');
        if (colon <= 0 || colon == authority.Length - 1)
        {
            return false;
        }
        var portText = authority[(colon + 1)..];
        if (portText.Length > 5 || !portText.All(char.IsAsciiDigit) || portText[0] == '0' || !int.TryParse(portText, out port) || port > 65535)
        {
            return false;
        }
        var hostText = authority[..colon];
        if (hostText.StartsWith('['))
        {
            if (!hostText.EndsWith(']') || !IPAddress.TryParse(hostText[1..^1], out var v6) || v6.AddressFamily != AddressFamily.InterNetworkV6
                || !string.Equals(v6.ToString(), hostText[1..^1], StringComparison.OrdinalIgnoreCase))
            {
                return false;
            }
            host = v6.ToString();
            return true;
        }
        if (hostText.All(c => char.IsAsciiDigit(c) || c == '.'))
        {
            // Only the dotted quad as every parser prints it: 127.1, 0x7f000001 and 0177.0.0.1 are refused.
            if (!IPAddress.TryParse(hostText, out var v4) || v4.AddressFamily != AddressFamily.InterNetwork || v4.ToString() != hostText)
            {
                return false;
            }
            host = hostText;
            return true;
        }
        if (IPAddress.TryParse(hostText, out _))
        {
            return false; // an address in a spelling some resolver reads as one (0x7f000001, 2130706433): never a name
        }
        var lower = hostText.ToLowerInvariant();
        if (lower.Split('.')[^1].All(char.IsAsciiDigit))
        {
            return false; // a numeric last label is no DNS name either
        }
        if (lower.Length > 253 || lower.Split('.').Any(label => label.Length is 0 or > 63 || label[0] == '-' || label[^1] == '-'
            || !label.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-')))
        {
            return false;
        }
        host = lower;
        return true;
    }
}
