using System.Buffers;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace Fabric.Contracts.Audit;

/// <summary>
/// The one JSON form of an audit record (web defaults: camelCase), source-generated so the spool and the chain hash
/// do not pay reflection-driven serialization per record. Byte for byte the form the reflection serializer writes
/// with the same options (tested), so the hashes of records written before stay valid.
/// </summary>
public static partial class AuditJson
{
    public static JsonTypeInfo<AuditRecord> Record => AuditJsonContext.Default.AuditRecord;

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_buffer;

    /// <summary>SHA-256 of the record's JSON, written into a reused per-thread buffer (no array per record).</summary>
    internal static byte[] Sha256Of(AuditRecord record)
    {
        var buffer = t_buffer ??= new ArrayBufferWriter<byte>(4096);
        buffer.ResetWrittenCount();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            JsonSerializer.Serialize(writer, record, Record);
        }
        var hash = SHA256.HashData(buffer.WrittenSpan);
        if (buffer.Capacity > 64 * 1024)
        {
            t_buffer = null; // a huge record's buffer is not kept
        }
        return hash;
    }

    [JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
    [JsonSerializable(typeof(AuditRecord))]
    private sealed partial class AuditJsonContext : JsonSerializerContext;
}
