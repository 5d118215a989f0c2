using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Fabric.Cli;

/// <summary>The writing half of <see cref="YamlDocuments"/>: documents as YAML that <see cref="Parse"/> reads back unchanged.</summary>
public static partial class YamlDocuments
{
    private static readonly Regex PlainKey = new(@"^[A-Za-z_][A-Za-z0-9_-]*$", RegexOptions.CultureInvariant);

    /// <summary>Writes documents back as YAML (what <c>fabric export</c> prints and <c>apply</c> reads unchanged).</summary>
    public static string Write(IEnumerable<(string Kind, string Name, JsonObject Spec)> documents)
    {
        var text = new System.Text.StringBuilder();
        var first = true;
        foreach (var (kind, name, spec) in documents)
        {
            if (!first)
            {
                text.Append("---\n");
            }
            first = false;
            text.Append("kind: ").Append(kind).Append('\n');
            text.Append("name: ").Append(Quote(name)).Append('\n');
            text.Append("spec:");
            WriteNode(text, spec, 1);
            text.Append('\n');
        }
        return text.ToString();
    }

    private static void WriteNode(System.Text.StringBuilder text, JsonNode? node, int depth)
    {
        var indent = new string(' ', depth * 2);
        switch (node)
        {
            case JsonObject obj when obj.Count > 0:
                foreach (var (key, value) in obj)
                {
                    text.Append('\n').Append(indent).Append(PlainKey.IsMatch(key) ? key : Quote(key)).Append(':');
                    WriteNode(text, value, depth + 1);
                }
                break;
            case JsonObject:
                text.Append(" {}");
                break;
            case JsonArray array when array.Count > 0:
                foreach (var item in array)
                {
                    text.Append('\n').Append(indent).Append('-');
                    if (item is JsonObject or JsonArray)
                    {
                        // Flow style keeps nesting in a list unambiguous and short.
                        text.Append(' ').Append(item.ToJsonString());
                    }
                    else
                    {
                        WriteNode(text, item, depth + 1);
                    }
                }
                break;
            case JsonArray:
                text.Append(" []");
                break;
            case null:
                text.Append(" null");
                break;
            case JsonValue value when value.TryGetValue<string>(out var s):
                text.Append(' ').Append(Quote(s));
                break;
            default:
                text.Append(' ').Append(node.ToJsonString());
                break;
        }
    }

    /// <summary>A string as a double-quoted YAML scalar (JSON escaping is valid YAML): never read back as a number or bool.</summary>
    private static string Quote(string value) => System.Text.Json.JsonSerializer.Serialize(value);
}
