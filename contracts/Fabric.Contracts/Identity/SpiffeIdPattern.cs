namespace Fabric.Contracts.Identity;

/// <summary>
/// A policy subject: a SPIFFE ID pattern, parsed once. Three forms:
/// <list type="bullet">
/// <item><c>spiffe://td/a/b</c> — exactly that workload ID;</item>
/// <item><c>spiffe://td/a/*</c> — every ID under <c>/a/</c> (its path starts with <c>/a/</c>; not <c>/a</c> itself);</item>
/// <item><c>spiffe://td/*</c> — every workload ID of trust domain <c>td</c>.</item>
/// </list>
/// The part before an optional trailing <c>/*</c> must be a valid <see cref="SpiffeId"/>; <c>*</c>
/// is allowed nowhere else. The bare trust-domain ID (<c>spiffe://td</c>) is rejected as a subject:
/// no workload SVID carries it, so a policy naming it would silently apply to nobody.
/// </summary>
public sealed class SpiffeIdPattern : IEquatable<SpiffeIdPattern>
{
    private const string AnySuffix = "/*";

    public string TrustDomain { get; }

    /// <summary>For an exact pattern the full path; for a prefix pattern the path prefix ending in '/'.</summary>
    public string Path { get; }

    /// <summary>True for the <c>/*</c> forms.</summary>
    public bool IsPrefix { get; }

    private SpiffeIdPattern(string trustDomain, string path, bool isPrefix)
    {
        TrustDomain = trustDomain;
        Path = path;
        IsPrefix = isPrefix;
    }

    public static SpiffeIdPattern Parse(string value) =>
        TryParse(value, out var pattern, out var error) ? pattern : throw new FormatException(error);

    public static bool TryParse(
        string? value,
        [NotNullWhen(true)] out SpiffeIdPattern? pattern,
        [NotNullWhen(false)] out string? error)
    {
        pattern = null;
        if (string.IsNullOrEmpty(value))
        {
            error = "a subject is required";
            return false;
        }
        if (value.StartsWith("spiffe://*", StringComparison.Ordinal))
        {
            // Subjects never span trust domains: each has its own CA, and trusting "any" is a policy bug.
            error = "'*' cannot stand for a trust domain";
            return false;
        }
        var isPrefix = value.EndsWith(AnySuffix, StringComparison.Ordinal);
        var basePart = isPrefix ? value[..^AnySuffix.Length] : value;
        if (basePart.Contains('*', StringComparison.Ordinal))
        {
            error = "'*' is allowed only as the whole last segment ('/*')";
            return false;
        }
        if (!SpiffeId.TryParse(basePart, out var id, out error))
        {
            return false;
        }
        if (!isPrefix && !id.IsWorkload)
        {
            error = "a subject must name a workload ID (with a path) or end in '/*'";
            return false;
        }
        // A prefix keeps its trailing '/', so "/a/*" never matches "/ab" and "td/*" needs a path.
        pattern = new SpiffeIdPattern(id.TrustDomain, isPrefix ? id.Path + "/" : id.Path, isPrefix);
        return true;
    }

    /// <summary>
    /// True when the literal part lies under <see cref="SpiffeId.ReservedPath"/> (<c>td/fabric</c>,
    /// <c>td/fabric/edge/e1</c>, <c>td/fabric/*</c>): every ID it matches is reserved. A trust-domain
    /// wide <c>td/*</c> is not: it matches ordinary workloads too.
    /// </summary>
    public bool IsReserved
    {
        get
        {
            var literal = IsPrefix ? Path[..^1] : Path;
            return literal.StartsWith(SpiffeId.ReservedPath, StringComparison.Ordinal)
                && (literal.Length == SpiffeId.ReservedPath.Length || literal[SpiffeId.ReservedPath.Length] == '/');
        }
    }

    public bool Matches(SpiffeId id)
    {
        ArgumentNullException.ThrowIfNull(id);
        if (!string.Equals(id.TrustDomain, TrustDomain, StringComparison.Ordinal))
        {
            return false;
        }
        return IsPrefix
            ? id.Path.StartsWith(Path, StringComparison.Ordinal)
            : string.Equals(id.Path, Path, StringComparison.Ordinal);
    }

    public bool Equals(SpiffeIdPattern? other) =>
        other is not null && other.IsPrefix == IsPrefix
        && string.Equals(other.TrustDomain, TrustDomain, StringComparison.Ordinal)
        && string.Equals(other.Path, Path, StringComparison.Ordinal);

    public override bool Equals(object? obj) => Equals(obj as SpiffeIdPattern);

    public override int GetHashCode() => HashCode.Combine(TrustDomain, Path, IsPrefix);

    /// <summary>The pattern as written in a policy.</summary>
    public override string ToString() => "spiffe://" + TrustDomain + (IsPrefix ? Path + "*" : Path);
}
