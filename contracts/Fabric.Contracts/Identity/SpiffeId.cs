namespace Fabric.Contracts.Identity;

/// <summary>
/// A SPIFFE ID, parsed and validated once per the SPIFFE ID standard (spiffe/spiffe
/// standards/SPIFFE-ID.md §2): scheme <c>spiffe</c>, a lower-case trust domain of
/// <c>[a-z0-9._-]</c>, no port, userinfo, query, fragment or percent-encoding, path segments of
/// <c>[a-zA-Z0-9._-]</c> with no empty, <c>.</c> or <c>..</c> segment, no trailing slash, and at most
/// 2048 bytes in all. Everything downstream takes this type, never a raw string.
/// </summary>
[GenerateSerializer, Immutable, Alias("fabric.spiffe-id")]
[System.Text.Json.Serialization.JsonConverter(typeof(SpiffeIdJsonConverter))]
public sealed record SpiffeId
{
    public const int MaxLength = 2048;
    private const string Scheme = "spiffe://";

    [Id(0)] public string TrustDomain { get; }
    /// <summary>The path, empty for the trust domain's own ID, else starting with '/'.</summary>
    [Id(1)] public string Path { get; }

    private SpiffeId(string trustDomain, string path)
    {
        TrustDomain = trustDomain;
        Path = path;
    }

    /// <summary>True for an ID with a path, the only kind a workload SVID may carry.</summary>
    public bool IsWorkload => Path.Length > 0;

    /// <summary>The path prefix, in every trust domain, that belongs to the fabric's own components.</summary>
    public const string ReservedPath = "/fabric";

    /// <summary>
    /// True for <c>spiffe://&lt;td&gt;/fabric</c> and everything under it: the IDs of the fabric's own
    /// components (edges, silos, egress). No agent may present one and the API never mints one (issue 9 §1).
    /// Path segments are case-sensitive (SPIFFE-ID §2.3), so <c>/Fabric/edge</c> is an ordinary workload ID.
    /// </summary>
    public bool IsReserved =>
        Path.StartsWith(ReservedPath, StringComparison.Ordinal)
        && (Path.Length == ReservedPath.Length || Path[ReservedPath.Length] == '/');

    public static SpiffeId Parse(string value) =>
        TryParse(value, out var id, out var error) ? id : throw new FormatException(error);

    public static bool TryParse(string? value, [NotNullWhen(true)] out SpiffeId? id) =>
        TryParse(value, out id, out _);

    public static bool TryParse(string? value, [NotNullWhen(true)] out SpiffeId? id, [NotNullWhen(false)] out string? error)
    {
        id = null;
        error = Validate(value, out var trustDomain, out var path);
        if (error is not null)
        {
            return false;
        }
        id = new SpiffeId(trustDomain!, path!);
        return true;
    }

    /// <summary>Builds an ID from a trust domain and a path given without its leading slash.</summary>
    public static SpiffeId FromParts(string trustDomain, string path) =>
        Parse(path.Length == 0 ? Scheme + trustDomain : Scheme + trustDomain + "/" + path);

    public static bool IsValidTrustDomain(string trustDomain) =>
        trustDomain.Length > 0 && trustDomain.All(IsTrustDomainChar);

    private static string? Validate(string? value, out string? trustDomain, out string? path)
    {
        trustDomain = null;
        path = null;
        if (string.IsNullOrEmpty(value))
        {
            return "a SPIFFE ID is required";
        }
        // Length is in bytes of the URI; every allowed character is ASCII, so chars == bytes once
        // the character checks below pass. Checking first bounds the work on hostile input.
        if (value.Length > MaxLength)
        {
            return $"a SPIFFE ID is at most {MaxLength} bytes";
        }
        if (!value.StartsWith(Scheme, StringComparison.Ordinal))
        {
            return value.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase)
                ? "the scheme must be lower-case 'spiffe'"
                : "the scheme must be 'spiffe://'";
        }
        var rest = value.AsSpan(Scheme.Length);
        var slash = rest.IndexOf('/');
        var td = slash < 0 ? rest : rest[..slash];
        if (td.Length == 0)
        {
            return "the trust domain is missing";
        }
        foreach (var c in td)
        {
            if (c == ':')
            {
                return "the trust domain must not contain a port";
            }
            if (c == '@')
            {
                return "the trust domain must not contain userinfo";
            }
            if (c is >= 'A' and <= 'Z')
            {
                return "the trust domain must be lower-case";
            }
            if (!IsTrustDomainChar(c))
            {
                return $"the trust domain contains an invalid character '{Printable(c)}'";
            }
        }
        var pathSpan = slash < 0 ? ReadOnlySpan<char>.Empty : rest[slash..];
        if (pathSpan.Length > 0)
        {
            if (pathSpan.Length == 1 || pathSpan[^1] == '/')
            {
                return "the path must not end with '/'";
            }
            // Segments between slashes: pathSpan starts with '/'.
            var segments = pathSpan[1..];
            while (true)
            {
                var next = segments.IndexOf('/');
                var segment = next < 0 ? segments : segments[..next];
                if (segment.Length == 0)
                {
                    return "the path must not contain empty segments";
                }
                if (segment is "." || segment is "..")
                {
                    return "the path must not contain '.' or '..' segments";
                }
                foreach (var c in segment)
                {
                    if (c == '%')
                    {
                        return "the path must not be percent-encoded";
                    }
                    if (c is '?' or '#')
                    {
                        return "a SPIFFE ID must not contain a query or fragment";
                    }
                    if (!IsPathChar(c))
                    {
                        return $"the path contains an invalid character '{Printable(c)}'";
                    }
                }
                if (next < 0)
                {
                    break;
                }
                segments = segments[(next + 1)..];
            }
        }
        trustDomain = td.ToString();
        path = pathSpan.ToString();
        return null;
    }

    private static bool IsTrustDomainChar(char c) =>
        c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '.' or '-' or '_';

    private static bool IsPathChar(char c) =>
        c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '.' or '-' or '_';

    private static string Printable(char c) => char.IsControl(c) || c > 0x7e ? $"\\u{(int)c:x4}" : c.ToString();

    // The URI form, built once: the edge keys caches, session owners and audit records by it on every
    // message. Not serialized and not part of equality (a deserialized copy starts without it).
    [NonSerialized]
    private string? _uri;

    public override string ToString() => _uri ??= Scheme + TrustDomain + Path;

    public bool Equals(SpiffeId? other) =>
        other is not null && string.Equals(TrustDomain, other.TrustDomain, StringComparison.Ordinal) && string.Equals(Path, other.Path, StringComparison.Ordinal);

    public override int GetHashCode() => HashCode.Combine(TrustDomain, Path);
}
