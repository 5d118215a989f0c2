using System.Text.Json;

namespace Fabric.Bench.Upstream;

/// <summary>The two things the upstream needs from a request: its raw id token and whether it is <c>tools/list</c>.</summary>
internal static class JsonRpcPeek
{
    public static (Range RawId, bool IsList) Read(ReadOnlySpan<byte> body)
    {
        var reader = new Utf8JsonReader(body);
        var id = 0..0;
        var isList = false;
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            return (id, isList);
        }
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var isId = reader.ValueTextEquals("id"u8);
            var isMethod = reader.ValueTextEquals("method"u8);
            reader.Read();
            if (isId)
            {
                var start = (int)reader.TokenStartIndex;
                reader.Skip();
                id = start..(int)reader.BytesConsumed;
            }
            else if (isMethod)
            {
                isList = reader.ValueTextEquals("tools/list"u8);
            }
            else
            {
                reader.Skip();
            }
        }
        return (id, isList);
    }
}
