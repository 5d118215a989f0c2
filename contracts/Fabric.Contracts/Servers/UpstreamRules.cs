using System.Net;
using System.Net.Sockets;

namespace Fabric.Contracts.Servers;

/// <summary>
/// What an MCP server's <c>upstream</c> URL may be: absolute https (http only to loopback), no user info, query or
/// fragment, IP literals written canonically, never unspecified, link-local only where the silo allows it.
/// </summary>
internal static class UpstreamRules
{
    public static string? Validate(string? upstream, bool allowLinkLocal)
    {
        if (string.IsNullOrEmpty(upstream))
        {
            return "upstream is required";
        }
        if (upstream.Length > McpServerValidator.MaxUpstreamLength)
        {
            return $"upstream is at most {McpServerValidator.MaxUpstreamLength} characters";
        }
        // Uri silently trims and unescapes; reject what it would rewrite so the stored URL is the one written.
        if (upstream.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)))
        {
            return "upstream must not contain whitespace or control characters";
        }
        if (!Uri.TryCreate(upstream, UriKind.Absolute, out var uri)
            || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp))
        {
            return "upstream must be an absolute https URL, such as https://tools.example.com/mcp";
        }
        if (uri.UserInfo.Length > 0)
        {
            return "upstream must not contain user info; bind a credential instead";
        }
        // A query is where API keys end up (use a credential binding), and the forwarded request
        // carries its own query; a fragment is never sent at all.
        if (upstream.Contains('?', StringComparison.Ordinal) || upstream.Contains('#', StringComparison.Ordinal))
        {
            return "upstream must not contain a query or fragment";
        }
        if (HostAddress(upstream, uri, out var address) is { } literalError)
        {
            return literalError;
        }
        if (address is not null && IsUnspecified(address))
        {
            // 0.0.0.0/8 and :: are no destination (RFC 6890 §2.2); connecting to them reaches this host.
            return "upstream must not be an unspecified address (0.0.0.0/8, ::)";
        }
        if (address is not null && !allowLinkLocal && IsLinkLocal(address))
        {
            return "upstream must not be link-local (169.254.0.0/16, fe80::/10; cloud metadata lives there) unless Fabric:Servers:AllowLinkLocal=true";
        }
        if (uri.Scheme == Uri.UriSchemeHttp && !IsLoopback(uri, address))
        {
            return "upstream must use https; http is allowed only to loopback (localhost, 127.0.0.0/8, ::1)";
        }
        return null;
    }

    /// <summary>
    /// The address of an IP-literal host (IPv4-mapped IPv6 as its IPv4 address), null for a DNS name.
    /// Literals are refused unless written canonically — dotted-quad IPv4 and RFC 5952 IPv6 (hex case
    /// aside) — rather than stored as parsed: <c>0x7f000001</c>, <c>2130706433</c>, <c>127.1</c>,
    /// <c>0177.0.0.1</c> and <c>[0:0:0:0:0:0:0:1]</c> mean different things to different parsers
    /// (inet_aton, WHATWG, strict), so the stored definition is the spelling they all agree on.
    /// </summary>
    private static string? HostAddress(string upstream, Uri uri, out IPAddress? address)
    {
        address = null;
        // A DNS-typed host that still parses as an address (IPAddress.TryParse is inet_aton-like) is
        // a literal to some resolver; treat it as one.
        if (!IPAddress.TryParse(uri.DnsSafeHost, out var parsed))
        {
            return null;
        }
        var canonical = parsed.AddressFamily == AddressFamily.InterNetworkV6 ? "[" + parsed + "]" : parsed.ToString();
        if ((parsed.AddressFamily == AddressFamily.InterNetworkV6 && parsed.ScopeId != 0)
            || !string.Equals(WrittenHost(upstream), canonical, StringComparison.OrdinalIgnoreCase))
        {
            return $"upstream must write its IP address in canonical form ({canonical})";
        }
        address = parsed.IsIPv4MappedToIPv6 ? parsed.MapToIPv4() : parsed;
        return null;
    }

    /// <summary>The host exactly as written: the authority without userinfo and port.</summary>
    private static string WrittenHost(string upstream)
    {
        var authority = upstream[(upstream.IndexOf("://", StringComparison.Ordinal) + 3)..];
        var end = authority.IndexOfAny(['/', '?', '#']);
        authority = end < 0 ? authority : authority[..end];
        authority = authority[(authority.LastIndexOf('@') + 1)..];
        if (authority.StartsWith('['))
        {
            var close = authority.IndexOf(']', StringComparison.Ordinal);
            return close < 0 ? authority : authority[..(close + 1)];
        }
        var colon = authority.LastIndexOf(':');
        return colon < 0 ? authority : authority[..colon];
    }

    private static bool IsUnspecified(IPAddress address) =>
        address.AddressFamily == AddressFamily.InterNetwork
            ? address.GetAddressBytes()[0] == 0
            : address.Equals(IPAddress.IPv6Any);

    /// <summary>169.254.0.0/16 (RFC 3927) and fe80::/10 (RFC 4291 §2.5.6).</summary>
    private static bool IsLinkLocal(IPAddress address) =>
        address.AddressFamily == AddressFamily.InterNetwork
            ? address.GetAddressBytes() is [169, 254, _, _]
            : address.IsIPv6LinkLocal;

    private static bool IsLoopback(Uri uri, IPAddress? address) => address is null
        ? uri.HostNameType == UriHostNameType.Dns && string.Equals(uri.Host, "localhost", StringComparison.OrdinalIgnoreCase)
        : IPAddress.IsLoopback(address);
}
