namespace Fabric.Contracts.Servers;

/// <summary>
/// Recognises values that look like credentials: the prefixes of well-known API keys and tokens, PEM private keys,
/// JWTs, and long high-entropy tokens. Used where a secret has no business being: a launched server's declared
/// environment (refused at registration) and its stderr (masked before the edge logs it). A heuristic by nature: it
/// keeps careless keys out, it does not prove a value harmless.
/// </summary>
public static class SecretShapes
{
    /// <summary>Prefixes of real-world keys (GitHub, OpenAI/Anthropic, Slack, AWS, Google, GitLab, Stripe, npm, Hugging Face, SendGrid).</summary>
    private static readonly string[] KnownPrefixes =
    [
        "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "sk-", "xoxb-", "xoxp-", "xoxa-", "xoxs-", "xapp-",
        "AKIA", "ASIA", "AIza", "glpat-", "sk_live_", "rk_live_", "sk_test_", "npm_", "hf_", "SG.",
    ];

    /// <summary>The shortest token the entropy rule looks at: shorter random strings are not worth a key's name.</summary>
    public const int MinTokenLength = 20;

    /// <summary>The reason <paramref name="value"/> looks like a credential, or null.</summary>
    public static string? Describe(string value)
    {
        if (value.Contains("-----BEGIN", StringComparison.Ordinal) && value.Contains("PRIVATE KEY", StringComparison.Ordinal))
        {
            return "it holds a PEM private key";
        }
        // A file system path is configuration even where a segment is random (a hashed store path, a temp directory).
        var path = value.Length > 1 && value[0] == '/' && !value.Any(char.IsWhiteSpace);
        foreach (var (start, length) in Spans(value))
        {
            if (Classify(value.AsSpan(start, length), entropy: !path) is { } reason)
            {
                return reason;
            }
        }
        return null;
    }

    public static bool LooksLikeSecret(string value) => Describe(value) is not null;

    /// <summary><paramref name="text"/> with every token that looks like a credential replaced by <c>***</c>.</summary>
    public static string Mask(string text)
    {
        var spans = Spans(text).Where(s => Classify(text.AsSpan(s.Start, s.Length)) is not null).OrderBy(s => s.Start).ToList();
        if (spans.Count == 0)
        {
            return text;
        }
        var masked = new System.Text.StringBuilder(text.Length);
        var copied = 0;
        foreach (var (start, length) in spans)
        {
            if (start + length <= copied)
            {
                continue;
            }
            masked.Append(text, copied, Math.Max(0, start - copied)).Append("***");
            copied = start + length;
        }
        return masked.Append(text, copied, text.Length - copied).ToString();
    }

    /// <summary>
    /// The candidate tokens of a text, cut two ways: words of key characters and dots (known prefixes, JWTs:
    /// <c>SG.x.y</c>, <c>eyJ….….…</c>), and runs of base64/base64url characters (random keys; dots split them).
    /// </summary>
    private static IEnumerable<(int Start, int Length)> Spans(string text) =>
        TokenSpans(text, c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.')
            .Concat(TokenSpans(text, c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '+' or '/' or '='));

    private static string? Classify(ReadOnlySpan<char> token, bool entropy = true)
    {
        foreach (var prefix in KnownPrefixes)
        {
            if (token.Length >= prefix.Length + 8 && token.StartsWith(prefix, StringComparison.Ordinal))
            {
                return $"it starts like a known API key ('{prefix}…')";
            }
        }
        if (token.StartsWith("eyJ", StringComparison.Ordinal) && token.Count('.') == 2 && token.Length >= 30)
        {
            return "it is shaped like a JWT";
        }
        if (entropy && token.Length >= MinTokenLength && !token.Contains('.') && IsRandomLooking(token))
        {
            return "it is a long random-looking token (a key, not configuration)";
        }
        return null;
    }

    /// <summary>
    /// Random keys (hex, base64, base62) carry more than ~3 (hex) or ~3.5 bits of Shannon entropy per character, hold
    /// digits, and switch between digits and letters and from lower to upper case all the time; words, paths, host
    /// names, camel-cased identifiers and version strings switch rarely (separators do not count).
    /// </summary>
    private static bool IsRandomLooking(ReadOnlySpan<char> token)
    {
        Span<int> counts = stackalloc int[128];
        int alnum = 0, switches = 0, previous = 0, classes = 0;
        foreach (var c in token)
        {
            counts[c]++;
            var cls = char.IsAsciiDigit(c) ? 1 : char.IsAsciiLetterLower(c) ? 2 : char.IsAsciiLetterUpper(c) ? 4 : 0;
            if (cls == 0)
            {
                continue;
            }
            alnum++;
            classes |= cls;
            // Digits against letters, and lower to upper case; not upper to lower, which every capitalised word does.
            if (previous != 0 && previous != cls && !(previous == 4 && cls == 2))
            {
                switches++;
            }
            previous = cls;
        }
        if ((classes & 1) == 0 || alnum < MinTokenLength || switches * 6 < alnum)
        {
            return false;
        }
        var entropy = 0.0;
        foreach (var count in counts)
        {
            if (count > 0)
            {
                var p = (double)count / token.Length;
                entropy -= p * Math.Log2(p);
            }
        }
        var hex = true;
        foreach (var c in token)
        {
            hex &= char.IsAsciiHexDigit(c);
        }
        return entropy >= (hex ? 3.0 : 3.5);
    }

    private static IEnumerable<(int Start, int Length)> TokenSpans(string value, Func<char, bool> inToken)
    {
        var start = -1;
        for (var i = 0; i <= value.Length; i++)
        {
            var inside = i < value.Length && value[i] < 128 && inToken(value[i]);
            if (inside && start < 0)
            {
                start = i;
            }
            else if (!inside && start >= 0)
            {
                yield return (start, i - start);
                start = -1;
            }
        }
    }
}
