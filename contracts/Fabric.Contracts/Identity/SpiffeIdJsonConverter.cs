using System.Text.Json;
using System.Text.Json.Serialization;

namespace Fabric.Contracts.Identity;

/// <summary>A <see cref="SpiffeId"/> on the wire is its URI string; one that does not parse is a JSON error, never a null.</summary>
public sealed class SpiffeIdJsonConverter : JsonConverter<SpiffeId>
{
    public override SpiffeId Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.String)
        {
            throw new JsonException("a SPIFFE ID is a string");
        }
        return SpiffeId.TryParse(reader.GetString(), out var id, out var error) ? id : throw new JsonException(error);
    }

    public override void Write(Utf8JsonWriter writer, SpiffeId value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(value);
        writer.WriteStringValue(value.ToString());
    }
}
