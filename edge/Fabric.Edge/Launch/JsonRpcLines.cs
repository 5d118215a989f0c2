using System.Text;
using System.Text.Json;

namespace Fabric.Edge.Launch;

/// <summary>
/// The few byte-level operations the stdio bridge needs on JSON-RPC messages, without re-serialising what the agent
/// or the server wrote: where the top-level <c>id</c> token is, putting another one in its place, and making a
/// message one line (the stdio transport: "messages are delimited by newlines, and MUST NOT contain embedded
/// newlines"; in valid JSON a raw CR or LF can only be whitespace between tokens, so it becomes a space).
/// </summary>
internal static class JsonRpcLines
{
    /// <summary>What a line from a server is.</summary>
    internal readonly record struct LineShape(bool Valid, bool HasMethod, Range? Id, string? Method);

    /// <summary>The top-level shape of <paramref name="json"/>: valid object or not, method, where its id token is.</summary>
    public static LineShape Inspect(ReadOnlySpan<byte> json)
    {
        try
        {
            var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 64 });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return default;
            }
            Range? id = null;
            string? method = null;
            var hasMethod = false;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isId = reader.ValueTextEquals("id"u8);
                var isMethod = reader.ValueTextEquals("method"u8);
                reader.Read();
                if (isId)
                {
                    id = new Range((int)reader.TokenStartIndex, (int)reader.BytesConsumed);
                }
                else if (isMethod)
                {
                    hasMethod = true;
                    method = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                }
                reader.Skip();
            }
            if (reader.TokenType != JsonTokenType.EndObject || reader.Read())
            {
                return default;
            }
            return new LineShape(true, hasMethod, id, method);
        }
        catch (JsonException)
        {
            return default;
        }
        catch (InvalidOperationException)
        {
            return default; // invalid UTF-8 in a string read as text
        }
    }

    /// <summary>The raw token of <c>params.requestId</c> (a <c>notifications/cancelled</c>), or null.</summary>
    public static string? RequestIdOf(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json);
        try
        {
            reader.Read();
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isParams = reader.ValueTextEquals("params"u8);
                reader.Read();
                if (isParams && reader.TokenType == JsonTokenType.StartObject)
                {
                    while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                    {
                        var isRequestId = reader.ValueTextEquals("requestId"u8);
                        reader.Read();
                        if (isRequestId)
                        {
                            return Encoding.UTF8.GetString(json[(int)reader.TokenStartIndex..(int)reader.BytesConsumed]);
                        }
                        reader.Skip();
                    }
                    return null;
                }
                reader.Skip();
            }
        }
        catch (JsonException)
        {
        }
        return null;
    }

    /// <summary><paramref name="json"/> as one line (ending in LF) with the token at <paramref name="id"/> replaced by <paramref name="newId"/>.</summary>
    public static byte[] WithId(ReadOnlySpan<byte> json, Range id, ReadOnlySpan<byte> newId, bool newline = true)
    {
        var (start, length) = id.GetOffsetAndLength(json.Length);
        var line = new byte[json.Length - length + newId.Length + (newline ? 1 : 0)];
        json[..start].CopyTo(line);
        newId.CopyTo(line.AsSpan(start));
        json[(start + length)..].CopyTo(line.AsSpan(start + newId.Length));
        if (newline)
        {
            line[^1] = (byte)'\n';
        }
        OneLine(line.AsSpan(0, line.Length - (newline ? 1 : 0)));
        return line;
    }

    /// <summary><paramref name="json"/> as one line ending in LF.</summary>
    public static byte[] AsLine(ReadOnlySpan<byte> json)
    {
        var line = new byte[json.Length + 1];
        json.CopyTo(line);
        OneLine(line.AsSpan(0, json.Length));
        line[^1] = (byte)'\n';
        return line;
    }

    private static void OneLine(Span<byte> json)
    {
        foreach (ref var b in json)
        {
            if (b is (byte)'\r' or (byte)'\n')
            {
                b = (byte)' ';
            }
        }
    }
}
