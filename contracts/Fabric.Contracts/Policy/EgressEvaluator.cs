namespace Fabric.Contracts.Policy;

/// <summary>One outbound HTTP call of an MCP server: the egress target, the HTTP method and the canonical path (no query).</summary>
public sealed record EgressCall(string Target, string Method, string Path);

/// <summary>
/// Decides an MCP server's outbound calls against a <see cref="WorkloadGrant"/> of egress rules (the rules of the
/// policies whose subjects match the server's identity that name the target). Pure, like <see cref="PolicyEvaluator"/>.
/// <code>
///   disabled identity                                 → workload-disabled
///   a deny rule applies (method listed or all, path glob or all) → explicit-deny (deny wins)
///   an allow rule applies                             → allowed (first allow rule)
///   else                                              → egress-not-allowed (default deny)
/// </code>
/// Methods compare ordinally (HTTP methods are case-sensitive, RFC 9110 §9.1: <c>get</c> is not <c>GET</c>); paths
/// match the rule's globs over the canonical path <see cref="EgressPaths.Canonicalize"/> accepted, the bytes forwarded.
/// </summary>
public static class EgressEvaluator
{
    public static Decision Decide(WorkloadGrant grant, EgressCall call)
    {
        ArgumentNullException.ThrowIfNull(grant);
        ArgumentNullException.ThrowIfNull(call);
        if (!grant.Enabled)
        {
            return Decision.Deny(ReasonCodes.WorkloadDisabled, grant.Version);
        }
        GrantedRule? firstAllow = null;
        var rules = grant.Rules;
        for (var i = 0; i < rules.Count; i++)
        {
            var granted = rules[i];
            if (granted.Rule.Egress is not { } egress || !Glob.IsMatch(egress, call.Target) || !AppliesTo(granted.Rule, call.Method, call.Path))
            {
                continue;
            }
            if (granted.Rule.Effect == PolicyEffect.Deny)
            {
                return Decision.Deny(ReasonCodes.ExplicitDeny, grant.Version, granted.Policy, granted.Index);
            }
            firstAllow ??= granted;
        }
        return firstAllow is { } allow
            ? Decision.Allow(grant.Version, allow.Policy, allow.Index)
            : Decision.Deny(ReasonCodes.EgressNotAllowed, grant.Version);
    }

    /// <summary>True when the egress rule covers <paramref name="method"/> on <paramref name="path"/>.</summary>
    public static bool AppliesTo(PolicyRule rule, string method, string path)
    {
        ArgumentNullException.ThrowIfNull(rule);
        if (rule.Methods is { } methods && !methods.Contains(method, StringComparer.Ordinal))
        {
            return false;
        }
        if (rule.Paths is not { } paths)
        {
            return true;
        }
        for (var i = 0; i < paths.Count; i++)
        {
            if (Glob.IsMatch(paths[i], path))
            {
                return true;
            }
        }
        return false;
    }
}

/// <summary>
/// The one spelling of an outbound request path the edge decides on and forwards. A path that an upstream could read
/// differently from the decision is refused, not repaired: the differential is the attack
/// (<c>/repos/acme-corp/../evil/x</c> against <c>/repos/acme-corp/*</c>, <c>%2F</c>, <c>%2E%2E</c>, <c>acme%2Dcorp</c>).
/// </summary>
public static class EgressPaths
{
    public const int MaxLength = 4096;

    /// <summary>
    /// <paramref name="rawPath"/> (as sent on the request line, without the query) if it is canonical, else null and why:
    /// it starts with '/', is printable ASCII, has no empty, '.' or '..' segment (raw or encoded), no backslash, and
    /// percent-escapes only bytes that must be escaped (never an unreserved character, '/', '\' or NUL), in upper case.
    /// </summary>
    public static string? Canonicalize(string rawPath, out string? error)
    {
        ArgumentNullException.ThrowIfNull(rawPath);
        error = Check(rawPath);
        return error is null ? rawPath : null;
    }

    private static string? Check(string path)
    {
        if (path.Length == 0 || path[0] != '/')
        {
            return "the path must start with '/'";
        }
        if (path.Length > MaxLength)
        {
            return $"the path is longer than {MaxLength} characters";
        }
        var segmentStart = 1;
        for (var i = 0; i <= path.Length; i++)
        {
            if (i == path.Length || path[i] == '/')
            {
                if (i > 0 && CheckSegment(path.AsSpan(segmentStart, i - segmentStart), last: i == path.Length) is { } segmentError)
                {
                    return segmentError;
                }
                segmentStart = i + 1;
                continue;
            }
            var c = path[i];
            if (c is < '!' or > '~' || c is '\\' or '#' or '?')
            {
                return $"the path holds a character that must not appear in it raw (0x{(int)c:X2})";
            }
            if (c == '%')
            {
                if (i + 2 >= path.Length || !IsUpperHex(path[i + 1]) || !IsUpperHex(path[i + 2]))
                {
                    return "a percent-escape is not two upper-case hex digits";
                }
                var b = (char)Convert.ToByte(path.Substring(i + 1, 2), 16);
                if (char.IsAsciiLetterOrDigit(b) || b is '-' or '.' or '_' or '~' or '/' or '\\' or '\0')
                {
                    return $"'%{path[i + 1]}{path[i + 2]}' escapes a character that must be sent as is (or not at all)";
                }
                i += 2;
            }
        }
        return null;
    }

    private static string? CheckSegment(ReadOnlySpan<char> segment, bool last)
    {
        if (segment.Length == 0)
        {
            // A trailing slash ("/repos/") is a real resource name; an empty segment inside ("//") is not canonical.
            return last ? null : "the path has an empty segment ('//')";
        }
        return segment is "." or ".." ? "the path has a '.' or '..' segment" : null;
    }

    private static bool IsUpperHex(char c) => char.IsAsciiDigit(c) || c is >= 'A' and <= 'F';
}
