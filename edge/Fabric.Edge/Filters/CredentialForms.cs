using System.Net;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Fabric.Edge.Filters;

/// <summary>
/// The textual forms a credential value takes when an upstream echoes it or quotes it in an error:
/// <code>
///   value ─┬─ raw
///          ├─ URL-encoded: RFC 3986 (Uri.EscapeDataString), form (' ' → '+'), WebUtility.UrlEncode; upper and lower hex
///          └─ base64 of its UTF-8: standard and URL-safe (RFC 4648 §4, §5), with and without '=' padding
///   each of those ── JSON string content: System.Text.Json's default encoder ('+' → \u002B), the relaxed
///                    encoder (only '"', '\' and controls), ASCII-only (Python's json.dumps: non-ASCII → \u00e9),
///                    each also with '/' → '\/' (PHP, older serializers) and with lower-case \u hex
/// </code>
/// The list may repeat a form; <see cref="CredentialNeedles"/> deduplicates. A text made only of characters no JSON
/// encoder escapes (letters, digits and <c>-._~%=</c>, as most tokens and all their URL and base64 forms but the
/// standard alphabet's <c>+</c> are) is its own JSON content, so only its <c>\/</c> variant is added: the needles of
/// a typical credential are built without running the encoders at all.
/// </summary>
internal static class CredentialForms
{
    public static IEnumerable<string> Of(string value)
    {
        foreach (var text in TextForms(value))
        {
            yield return text;
            if (IsOwnJsonContent(text))
            {
                if (text.Contains('/', StringComparison.Ordinal))
                {
                    yield return text.Replace("/", "\\/", StringComparison.Ordinal);
                }
                continue;
            }
            foreach (var json in JsonForms(text))
            {
                yield return json;
                yield return json.Replace("/", "\\/", StringComparison.Ordinal);
                yield return LowerHex(json, '\\');
            }
        }
    }

    private static IEnumerable<string> TextForms(string value)
    {
        yield return value;

        var escaped = Uri.EscapeDataString(value);
        var form = escaped.Replace("%20", "+", StringComparison.Ordinal);
        var webForm = WebUtility.UrlEncode(value);
        foreach (var url in new[] { escaped, form, webForm })
        {
            yield return url;
            yield return LowerHex(url, '%');
        }

        var standard = Convert.ToBase64String(Encoding.UTF8.GetBytes(value));
        var urlSafe = standard.Replace('+', '-').Replace('/', '_');
        yield return standard;
        yield return standard.TrimEnd('=');
        yield return urlSafe;
        yield return urlSafe.TrimEnd('=');
    }

    /// <summary>True when every encoder above leaves the text as it is: nothing to escape, no escapes of its own.</summary>
    private static bool IsOwnJsonContent(string text) => !text.AsSpan().ContainsAnyExcept(PlainJson);

    private static readonly System.Buffers.SearchValues<char> PlainJson =
        System.Buffers.SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~%=/");

    private static IEnumerable<string> JsonForms(string text)
    {
        yield return JsonEncodedText.Encode(text).ToString();
        var relaxed = JsonEncodedText.Encode(text, JavaScriptEncoder.UnsafeRelaxedJsonEscaping).ToString();
        yield return relaxed;
        yield return AsciiOnly(relaxed);
    }

    private static string AsciiOnly(string json)
    {
        var builder = new StringBuilder(json.Length);
        foreach (var c in json)
        {
            if (c > 0x7F)
            {
                builder.Append("\\u").Append(((int)c).ToString("x4", System.Globalization.CultureInfo.InvariantCulture));
            }
            else
            {
                builder.Append(c);
            }
        }
        return builder.ToString();
    }

    /// <summary>Lower-cases the hex digits of every escape: <c>%2B</c> → <c>%2b</c>, <c>\u002B</c> → <c>\u002b</c>.</summary>
    private static string LowerHex(string text, char escape)
    {
        if (!text.Contains(escape, StringComparison.Ordinal))
        {
            return text;
        }
        var chars = text.ToCharArray();
        for (var i = 0; i < chars.Length; i++)
        {
            if (chars[i] != escape || i + 1 >= chars.Length)
            {
                continue;
            }
            int start, digits;
            if (escape == '%')
            {
                (start, digits) = (i + 1, 2);
            }
            else if (chars[i + 1] == 'u')
            {
                (start, digits) = (i + 2, 4);
            }
            else
            {
                i++; // "\\", "\"", "\/": the next char is escaped, not an escape
                continue;
            }
            for (var j = start; j < Math.Min(start + digits, chars.Length); j++)
            {
                chars[j] = char.ToLowerInvariant(chars[j]);
            }
            i = start + digits - 1;
        }
        return new string(chars);
    }
}
