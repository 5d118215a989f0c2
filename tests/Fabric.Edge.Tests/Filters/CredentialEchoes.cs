using System.Buffers.Text;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Web;

namespace Fabric.Edge.Tests.Filters;

/// <summary>
/// How an upstream echoes a value, each produced by the library an echo would use (not by the redactor's
/// own encoder), so the tests check the needles against real output.
/// </summary>
internal static class CredentialEchoes
{
    /// <summary>A secret that JSON, URL and HTML-safe encoders all change.</summary>
    public const string Tricky = "sk+/=<>&\"é";

    /// <summary>A secret whose standard base64 has '+' and '/' (so JSON escaping changes the base64 too).</summary>
    public const string Base64Tricky = "sk-live~~~>>>???";

    public static string Header(string secret) => "Bearer " + secret;

    private static readonly JsonSerializerOptions Relaxed = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static string Encode(string encoding, string text) => encoding switch
    {
        "raw" => text,
        "json-default" => Unquote(JsonSerializer.Serialize(text)),
        "json-default-slash" => Unquote(JsonSerializer.Serialize(text)).Replace("/", "\\/", StringComparison.Ordinal),
        "json-default-lowerhex" => LowerJsonHex(Unquote(JsonSerializer.Serialize(text))),
        "json-relaxed" => Unquote(JsonSerializer.Serialize(text, Relaxed)),
        "json-relaxed-slash" => Unquote(JsonSerializer.Serialize(text, Relaxed)).Replace("/", "\\/", StringComparison.Ordinal),
        "json-ascii" => PythonJsonDumps(text),
        "url-rfc3986" => Uri.EscapeDataString(text),
        "url-form" => WebUtility.UrlEncode(text),
        "url-form-lowerhex" => HttpUtility.UrlEncode(text),
        "url-rfc3986-lowerhex" => LowerUrlHex(Uri.EscapeDataString(text)),
        "base64" => Convert.ToBase64String(Encoding.UTF8.GetBytes(text)),
        "base64-unpadded" => Convert.ToBase64String(Encoding.UTF8.GetBytes(text)).TrimEnd('='),
        "base64url" => Base64Url.EncodeToString(Encoding.UTF8.GetBytes(text)) + Padding(text),
        "base64url-unpadded" => Base64Url.EncodeToString(Encoding.UTF8.GetBytes(text)),
        "json-default-of-base64" => Unquote(JsonSerializer.Serialize(Convert.ToBase64String(Encoding.UTF8.GetBytes(text)))),
        "json-default-slash-of-base64" => Unquote(JsonSerializer.Serialize(Convert.ToBase64String(Encoding.UTF8.GetBytes(text))))
            .Replace("/", "\\/", StringComparison.Ordinal),
        _ => throw new ArgumentOutOfRangeException(nameof(encoding), encoding, null),
    };

    private static string Unquote(string json) => json[1..^1];

    private static string Padding(string text) => new('=', (3 - Encoding.UTF8.GetByteCount(text) % 3) % 3);

    private static string LowerUrlHex(string text)
    {
        var chars = text.ToCharArray();
        for (var i = 0; i + 2 < chars.Length; i++)
        {
            if (chars[i] == '%')
            {
                chars[i + 1] = char.ToLowerInvariant(chars[i + 1]);
                chars[i + 2] = char.ToLowerInvariant(chars[i + 2]);
            }
        }
        return new string(chars);
    }

    private static string LowerJsonHex(string json)
    {
        var builder = new StringBuilder();
        for (var i = 0; i < json.Length; i++)
        {
            if (json[i] == '\\' && json[i + 1] == 'u')
            {
                builder.Append(json, i, 2).Append(json.Substring(i + 2, 4).ToLowerInvariant());
                i += 5;
            }
            else
            {
                builder.Append(json[i]);
            }
        }
        return builder.ToString();
    }

    /// <summary>Python's json.dumps(ensure_ascii=True): '"' and '\' escaped, everything non-ASCII as lower-case \u.</summary>
    private static string PythonJsonDumps(string text)
    {
        var builder = new StringBuilder();
        foreach (var c in text)
        {
            _ = c switch
            {
                '"' => builder.Append("\\\""),
                '\\' => builder.Append("\\\\"),
                > '\u007F' or < ' ' => builder.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}"),
                _ => builder.Append(c),
            };
        }
        return builder.ToString();
    }
}
