using System.Net;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using CsCheck;
using Fabric.Edge.Filters;

namespace Fabric.Edge.Tests.Filters;

/// <summary>
/// The forms' shortcut (a text no encoder changes is not run through the encoders) must give exactly the set the
/// plain construction gives: every form of every text, through every JSON encoder, with both variants. The model
/// below is that plain construction, written independently of the product's.
/// </summary>
public sealed class CredentialFormsTests
{
    // Token alphabets, the characters each encoder treats specially, non-ASCII and controls (whole code points:
    // a lone surrogate is not a string a secret store hands out).
    private const string Alphabet = "aZ09-._~%=/+\"\\<>&'` é€\u0001\n";

    [Theory]
    [InlineData("sk-live-0123456789abcdef")]
    [InlineData("Bearer sk-live-0123456789abcdef")]
    [InlineData("ghp_AbC/dEf+gh==")]
    [InlineData("p@ss w0rd\"\\é")]
    [InlineData("token=a%2Fb")]
    [InlineData("key-😀-€")]
    public void The_forms_are_those_of_the_plain_construction(string value) =>
        Assert.Equal(Model(value), CredentialForms.Of(value).ToHashSet(StringComparer.Ordinal));

    [Fact]
    public void The_forms_are_those_of_the_plain_construction_for_any_value() =>
        Gen.String[Gen.Char[Alphabet], 1, 24].Sample(value =>
            Model(value).SetEquals(CredentialForms.Of(value)));

    [Fact]
    public void A_plain_token_yields_its_url_and_base64_forms_and_the_escaped_slash()
    {
        var forms = CredentialForms.Of("ab/cd+ef").ToHashSet(StringComparer.Ordinal);

        Assert.Contains("ab/cd+ef", forms);
        Assert.Contains("ab\\/cd\\u002Bef", forms);
        Assert.Contains("ab%2fcd%2bef", forms);
        Assert.Contains(Convert.ToBase64String(Encoding.UTF8.GetBytes("ab/cd+ef")), forms);
    }

    private static HashSet<string> Model(string value)
    {
        var escaped = Uri.EscapeDataString(value);
        var standard = Convert.ToBase64String(Encoding.UTF8.GetBytes(value));
        var urlSafe = standard.Replace('+', '-').Replace('/', '_');
        var urls = new[] { escaped, escaped.Replace("%20", "+", StringComparison.Ordinal), WebUtility.UrlEncode(value) };
        var texts = new List<string> { value, standard, standard.TrimEnd('='), urlSafe, urlSafe.TrimEnd('=') };
        texts.AddRange(urls);
        texts.AddRange(urls.Select(u => LowerEscapes(u, "%", 2)));

        var forms = new HashSet<string>(StringComparer.Ordinal);
        foreach (var text in texts)
        {
            forms.Add(text);
            var relaxed = JsonEncodedText.Encode(text, JavaScriptEncoder.UnsafeRelaxedJsonEscaping).ToString();
            var ascii = string.Concat(relaxed.Select(c => c > 0x7F ? $"\\u{(int)c:x4}" : c.ToString()));
            foreach (var json in new[] { JsonEncodedText.Encode(text).ToString(), relaxed, ascii })
            {
                forms.Add(json);
                forms.Add(json.Replace("/", "\\/", StringComparison.Ordinal));
                forms.Add(LowerEscapes(json, "\\u", 4));
            }
        }
        return forms;
    }

    /// <summary>Lower-cases the hex digits after each escape marker, skipping JSON's two-character escapes.</summary>
    private static string LowerEscapes(string text, string marker, int digits)
    {
        var builder = new StringBuilder(text.Length);
        for (var i = 0; i < text.Length; i++)
        {
            if (marker == "\\u" && text[i] == '\\' && i + 1 < text.Length && text[i + 1] != 'u')
            {
                builder.Append(text, i, 2);
                i++;
            }
            else if (string.CompareOrdinal(text, i, marker, 0, marker.Length) == 0)
            {
                var end = Math.Min(i + marker.Length + digits, text.Length);
                builder.Append(marker).Append(text[(i + marker.Length)..end].ToLowerInvariant());
                i = end - 1;
            }
            else
            {
                builder.Append(text[i]);
            }
        }
        return builder.ToString();
    }
}
