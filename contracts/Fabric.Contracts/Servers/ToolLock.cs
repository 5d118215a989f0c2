using System.Collections.Immutable;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Fabric.Contracts.Servers;

/// <summary>
/// How a server's tool definitions are held against silent change (issue 12 §1): <see cref="Off"/> passes them as the
/// server says; <see cref="TrustOnFirstUse"/> (the default) approves the first set the fabric sees and holds every
/// later change back until an admin approves it; <see cref="Approve"/> shows nothing until an admin approved it.
/// </summary>
[GenerateSerializer, Alias("fabric.tool-lock-mode")]
public enum ToolLockMode
{
    [JsonStringEnumMemberName("trust-on-first-use")] TrustOnFirstUse = 0,
    [JsonStringEnumMemberName("off")] Off = 1,
    [JsonStringEnumMemberName("approve")] Approve = 2,
}

/// <summary>The lists a lock holds, each with its own digest.</summary>
[GenerateSerializer, Alias("fabric.locked-list")]
public enum LockedList
{
    [JsonStringEnumMemberName("tools")] Tools = 0,
    [JsonStringEnumMemberName("prompts")] Prompts = 1,
    [JsonStringEnumMemberName("resourceTemplates")] ResourceTemplates = 2,
}

/// <summary>One item of a list as the fabric saw it: its name, the digest of its canonical form, and that form (for diffs).</summary>
[GenerateSerializer, Immutable, Alias("fabric.locked-item")]
public sealed record LockedItem(
    [property: Id(0)] string Name,
    [property: Id(1)] string Digest,
    [property: Id(2)] string Canonical);

/// <summary>
/// Digests of tool, prompt and resource-template definitions. The canonical form of an item is the JSON object of
/// the fields that define it (tools: name, title, description, inputSchema, outputSchema, annotations; prompts: name,
/// title, description, arguments; templates: uriTemplate, name, title, description, mimeType), every object's keys
/// sorted by code point, no whitespace, strings escaped one way (so key order, whitespace and unicode escapes give one
/// digest); the digest is SHA-256 of its UTF-8, in hex. A set's digest covers its items' names and digests, sorted,
/// so a rename, an added and a removed item all change it.
/// </summary>
public static class LockDigest
{
    private static readonly JsonWriterOptions Writer = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, Indented = false };

    public static IReadOnlyList<string> FieldsOf(LockedList list) => list switch
    {
        LockedList.Tools => ["name", "title", "description", "inputSchema", "outputSchema", "annotations"],
        LockedList.Prompts => ["name", "title", "description", "arguments"],
        _ => ["uriTemplate", "name", "title", "description", "mimeType"],
    };

    /// <summary>The property naming an item of <paramref name="list"/>.</summary>
    public static string NameProperty(LockedList list) => list == LockedList.ResourceTemplates ? "uriTemplate" : "name";

    /// <summary>The item as the lock holds it; null when it is not an object with a string name.</summary>
    public static LockedItem? Of(LockedList list, JsonElement item)
    {
        if (item.ValueKind != JsonValueKind.Object || !item.TryGetProperty(NameProperty(list), out var name) || name.ValueKind != JsonValueKind.String)
        {
            return null;
        }
        var canonical = Canonical(list, item);
        return new LockedItem(name.GetString()!, Hash(canonical), canonical);
    }

    public static string Canonical(LockedList list, JsonElement item)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer, Writer))
        {
            writer.WriteStartObject();
            foreach (var field in FieldsOf(list).Order(StringComparer.Ordinal))
            {
                if (item.TryGetProperty(field, out var value))
                {
                    writer.WritePropertyName(field);
                    WriteCanonical(writer, value);
                }
            }
            writer.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>Canonical JSON of one field's value, for a per-field diff.</summary>
    public static string CanonicalValue(JsonElement value)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(64);
        using (var writer = new Utf8JsonWriter(buffer, Writer))
        {
            WriteCanonical(writer, value);
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static void WriteCanonical(Utf8JsonWriter writer, JsonElement value)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.Object:
                writer.WriteStartObject();
                // A duplicate key keeps its last value (what most parsers do); sorted by code point.
                var members = new SortedDictionary<string, JsonElement>(StringComparer.Ordinal);
                foreach (var member in value.EnumerateObject())
                {
                    members[member.Name] = member.Value;
                }
                foreach (var (name, member) in members)
                {
                    writer.WritePropertyName(name);
                    WriteCanonical(writer, member);
                }
                writer.WriteEndObject();
                break;
            case JsonValueKind.Array:
                writer.WriteStartArray();
                foreach (var element in value.EnumerateArray())
                {
                    WriteCanonical(writer, element);
                }
                writer.WriteEndArray();
                break;
            case JsonValueKind.String:
                writer.WriteStringValue(value.GetString());
                break;
            case JsonValueKind.Number:
                // One spelling per value, exactly (never through a binary float): 1, 1.0, 1e0 and 10E-1 are one number.
                writer.WriteRawValue(CanonicalNumber(value.GetRawText()), skipInputValidation: true);
                break;
            default:
                value.WriteTo(writer);
                break;
        }
    }

    /// <summary>
    /// A JSON number's one spelling, computed on its digits (exact at any length): sign, significant digits without
    /// leading or trailing zeros, and a decimal point where it falls; plain notation while the exponent is small (so
    /// 0.5, 1.5 and 100 spell as usual), <c>d…e±n</c> beyond. Zero is <c>0</c> whatever its sign or spelling.
    /// </summary>
    internal static string CanonicalNumber(string raw)
    {
        var text = raw.AsSpan();
        var negative = text.StartsWith("-");
        if (negative)
        {
            text = text[1..];
        }
        long exponent = 0;
        var e = text.IndexOfAny('e', 'E');
        if (e >= 0)
        {
            if (!long.TryParse(text[(e + 1)..], System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out exponent)
                || Math.Abs(exponent) > 1_000_000_000)
            {
                return raw; // an exponent no real schema writes: kept exactly as sent
            }
            text = text[..e];
        }
        var point = text.IndexOf('.');
        var digits = point < 0 ? text.ToString() : string.Concat(text[..point], text[(point + 1)..]);
        if (point >= 0)
        {
            exponent -= text.Length - point - 1;
        }
        digits = digits.TrimStart('0');
        if (digits.Length == 0)
        {
            return "0";
        }
        var trimmed = digits.TrimEnd('0');
        exponent += digits.Length - trimmed.Length;
        digits = trimmed;
        var sign = negative ? "-" : "";
        if (exponent >= 0 && digits.Length + exponent <= 21)
        {
            return sign + digits + new string('0', (int)exponent);
        }
        var pointAt = digits.Length + exponent; // where the decimal point falls in the digits
        if (exponent < 0 && pointAt > 0)
        {
            return sign + digits[..(int)pointAt] + "." + digits[(int)pointAt..];
        }
        if (exponent < 0 && pointAt > -6)
        {
            return sign + "0." + new string('0', (int)-pointAt) + digits;
        }
        return sign + digits + "e" + exponent.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    public static string Hash(string canonical) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(canonical)));

    /// <summary>The digest of a whole set: its items' names and digests, sorted by name.</summary>
    public static string OfSet(IEnumerable<LockedItem> items) =>
        Hash(string.Join("\n", items.OrderBy(i => i.Name, StringComparer.Ordinal).Select(i => i.Name + " " + i.Digest)));
}
