using System.Text.Json;

namespace Fabric.Silo.Apis;

/// <summary>
/// Finds the first name that repeats within one JSON object, anywhere in a document. RFC 8259 §4:
/// names "SHOULD be unique" and, when not, "the behavior of software that receives such an object is
/// unpredictable" (first wins, last wins, error): a policy or binding must not mean one thing to
/// the silo and another to whatever checked it. Names compare after unescaping and ordinally, so
/// <c>"a"</c> and <c>"\u0061"</c> collide and dictionary keys <c>path</c>/<c>Path</c> do not
/// (the serializer's <c>AllowDuplicateProperties=false</c> also refuses case variants of one member).
/// </summary>
internal static class JsonDuplicateNames
{
    /// <summary>The JSON path (<c>rules[0].when.arguments.path</c>) of the first duplicate, or null.
    /// Malformed JSON also gives null: the deserializer reports it with its own path.</summary>
    public static string? Find(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json);
        var frames = new List<Frame>();
        try
        {
            while (reader.Read())
            {
                switch (reader.TokenType)
                {
                    case JsonTokenType.StartObject:
                        StartValue(frames);
                        frames.Add(new Frame(new HashSet<string>(StringComparer.Ordinal)));
                        break;
                    case JsonTokenType.StartArray:
                        StartValue(frames);
                        frames.Add(new Frame(null));
                        break;
                    case JsonTokenType.EndObject or JsonTokenType.EndArray:
                        frames.RemoveAt(frames.Count - 1);
                        break;
                    case JsonTokenType.PropertyName:
                        var frame = frames[^1];
                        frame.Name = reader.GetString()!;
                        if (!frame.Names!.Add(frame.Name))
                        {
                            return PathOf(frames);
                        }
                        break;
                    default:
                        StartValue(frames);
                        break;
                }
            }
        }
        catch (JsonException)
        {
            return null;
        }
        return null;
    }

    private static void StartValue(List<Frame> frames)
    {
        if (frames.Count > 0 && frames[^1].Names is null)
        {
            frames[^1].Index++;
        }
    }

    private static string PathOf(List<Frame> frames)
    {
        var path = new System.Text.StringBuilder();
        foreach (var frame in frames)
        {
            if (frame.Names is null)
            {
                path.Append('[').Append(frame.Index).Append(']');
            }
            else
            {
                path.Append(path.Length == 0 ? "" : ".").Append(frame.Name);
            }
        }
        return path.ToString();
    }

    /// <summary>An open object (its names so far and the current one) or array (the current index).</summary>
    private sealed class Frame(HashSet<string>? names)
    {
        public HashSet<string>? Names { get; } = names;
        public string Name { get; set; } = "";
        public int Index { get; set; } = -1;
    }
}
