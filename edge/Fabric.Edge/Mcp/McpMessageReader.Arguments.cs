using System.Text;
using System.Text.Json;
using System.Text.Unicode;

namespace Fabric.Edge.Mcp;

/// <summary>The <c>params.arguments</c> half of <see cref="McpMessageReader"/>: rendering for argument rules, duplicate checks at any depth.</summary>
internal static partial class McpMessageReader
{
    /// <summary>
    /// Renders top-level arguments: JSON strings as their (unescaped) value, anything else as its raw JSON
    /// text. Duplicate keys are refused for the same reason as duplicate members: an argument constraint
    /// checked on one copy must not be bypassed by the other. With <paramref name="render"/> false the same
    /// checks run (a string value that would not decode still fails as it would when rendered), the values
    /// are not copied, and <paramref name="rendered"/> comes back null.
    /// </summary>
    private static string? ReadArguments(ref Utf8JsonReader reader, ReadOnlySpan<byte> source, bool render, out Dictionary<string, string>? rendered)
    {
        rendered = new Dictionary<string, string>(StringComparer.Ordinal);
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (rendered.Count == MaxArguments)
            {
                rendered = null;
                return $"invalid params: more than {MaxArguments} arguments";
            }

            var key = reader.GetString()!;
            reader.Read();
            string value;
            switch (reader.TokenType)
            {
                case JsonTokenType.String when !render:
                    if (reader.ValueIsEscaped || !Utf8.IsValid(reader.ValueSpan))
                    {
                        // Unescaping or transcoding may fail; fail exactly as rendering would.
                        _ = reader.GetString();
                    }
                    value = string.Empty;
                    break;
                case JsonTokenType.StartObject or JsonTokenType.StartArray when !render:
                    reader.Skip();
                    value = string.Empty;
                    break;
                case not (JsonTokenType.String or JsonTokenType.StartObject or JsonTokenType.StartArray) when !render:
                    value = string.Empty;
                    break;
                case JsonTokenType.String:
                    value = reader.GetString()!;
                    break;
                case JsonTokenType.StartObject or JsonTokenType.StartArray:
                    var start = (int)reader.TokenStartIndex;
                    reader.Skip();
                    var raw = source[start..(int)reader.BytesConsumed];
                    if (FirstDuplicateKey(raw) is { } nested)
                    {
                        // A constraint matched against this raw text must not pass on one copy of a key the tool reads as the other.
                        rendered = null;
                        return $"invalid params: duplicate member '{nested}' in argument '{key}'";
                    }
                    value = Encoding.UTF8.GetString(raw);
                    break;
                default:
                    // Numbers, true, false, null: the token text is the raw JSON.
                    value = Encoding.UTF8.GetString(reader.ValueSpan);
                    break;
            }

            if (!rendered.TryAdd(key, value))
            {
                rendered = null;
                return $"invalid params: duplicate argument '{key}'";
            }
        }

        if (!render)
        {
            rendered = null;
        }
        return null;
    }

    /// <summary>The first key that repeats within one object anywhere in <paramref name="json"/> (one valid JSON value), or null.</summary>
    private static string? FirstDuplicateKey(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json, ReaderOptions);
        var scopes = new Stack<HashSet<string>?>();
        while (reader.Read())
        {
            switch (reader.TokenType)
            {
                case JsonTokenType.StartObject:
                    scopes.Push(new HashSet<string>(StringComparer.Ordinal));
                    break;
                case JsonTokenType.StartArray:
                    scopes.Push(null);
                    break;
                case JsonTokenType.EndObject or JsonTokenType.EndArray:
                    scopes.Pop();
                    break;
                case JsonTokenType.PropertyName when scopes.Peek() is { } keys && !keys.Add(reader.GetString()!):
                    return reader.GetString();
            }
        }
        return null;
    }
}
