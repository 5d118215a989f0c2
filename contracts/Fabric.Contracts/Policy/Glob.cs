namespace Fabric.Contracts.Policy;

/// <summary>
/// Glob matching for policy names (servers, tools, resource URIs, prompts, argument values):
/// <c>*</c> matches any run of characters (including none), <c>?</c> exactly one character, every
/// other character itself. Matching is ordinal (case-sensitive) over the whole string; there is no
/// escape syntax, so a literal <c>*</c> or <c>?</c> is matched only by a wildcard. A "character" is
/// one UTF-16 code unit.
/// </summary>
/// <remarks>
/// Policies come from operators and names come from agents, so neither side may make matching
/// expensive: no regex (no compile, no cache, no catastrophic backtracking) and no recursion. The
/// greedy two-pointer walk below remembers only the last <c>*</c>; a mismatch retries from there
/// with one more character swallowed. Earlier stars never need revisiting, because the last star
/// can absorb anything they could, so the worst case is O(pattern × text) and it allocates nothing.
/// </remarks>
public static class Glob
{
    public static bool IsMatch(string pattern, string text)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        ArgumentNullException.ThrowIfNull(text);
        return IsMatch(pattern.AsSpan(), text.AsSpan());
    }

    public static bool IsMatch(ReadOnlySpan<char> pattern, ReadOnlySpan<char> text)
    {
        var p = 0;
        var t = 0;
        var star = -1;      // index of the last '*' seen in the pattern
        var starText = 0;   // text index that '*' currently extends to

        while (t < text.Length)
        {
            if (p < pattern.Length && pattern[p] == '*')
            {
                // Try the star as empty first; widen it only when the rest fails.
                star = p++;
                starText = t;
            }
            else if (p < pattern.Length && (pattern[p] == '?' || pattern[p] == text[t]))
            {
                p++;
                t++;
            }
            else if (star >= 0)
            {
                p = star + 1;
                t = ++starText;
            }
            else
            {
                return false;
            }
        }
        // The text is used up: whatever is left of the pattern must be stars only.
        while (p < pattern.Length && pattern[p] == '*')
        {
            p++;
        }
        return p == pattern.Length;
    }

    /// <summary>True when the pattern has no wildcard, i.e. it matches exactly one string.</summary>
    public static bool IsLiteral(ReadOnlySpan<char> pattern) => pattern.IndexOfAny('*', '?') < 0;
}
