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
        Write(record, buffer);
        var hash = SHA256.HashData(buffer.WrittenSpan);
        if (buffer.Capacity > 64 * 1024)
        {
            t_buffer = null; // a huge record's buffer is not kept
        }
        return hash;
    }

    /// <summary>The canonical form's chain fields, as a record that is not linked yet writes them (see <see cref="AuditChain.HashOf"/>).</summary>
    private static ReadOnlySpan<byte> UnsetChainFields => "\"hash\":null,\"signature\":null,\"signerCertificate\":null"u8;

    private static readonly SearchValues<char> LowerHex = SearchValues.Create("0123456789abcdef");

    /// <summary>Writes <paramref name="record"/>'s JSON into <paramref name="output"/>.</summary>
    public static void Write(AuditRecord record, IBufferWriter<byte> output)
    {
        using var writer = new Utf8JsonWriter(output);
        JsonSerializer.Serialize(writer, record, Record);
    }

    /// <summary>
    /// Writes a linked, unsigned record's JSON from <paramref name="canonical"/>, the bytes its hash was computed over
    /// (the same record with the hash unset): those bytes with the hash filled in, byte for byte what <see cref="Write"/>
    /// gives, without serializing the record a second time (a hash other than lowercase hex, never one <see cref="AuditChain"/>
    /// makes, is serialized in full too, so nothing needing escapes is spliced). The unset fields cannot occur inside a string value (the
    /// encoder writes a quote there as <c>\u0022</c>), so the first occurrence is the record's own. A signed record
    /// (a checkpoint, one in a thousand) is serialized in full.
    /// </summary>
    public static void WriteLinked(ReadOnlySpan<byte> canonical, AuditRecord linked, IBufferWriter<byte> output)
    {
        if (linked is not { Hash: { } hash, Signature: null, SignerCertificate: null }
            || hash.AsSpan().ContainsAnyExcept(LowerHex)
            || canonical.IndexOf(UnsetChainFields) is var at && at < 0)
        {
            Write(linked, output);
            return;
        }
        output.Write(canonical[..at]);
        output.Write("\"hash\":\""u8);
        output.Advance(System.Text.Encoding.ASCII.GetBytes(hash, output.GetSpan(hash.Length)));
        output.Write("\",\"signature\":null,\"signerCertificate\":null"u8);
        output.Write(canonical[(at + UnsetChainFields.Length)..]);
    }

    [JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
    [JsonSerializable(typeof(AuditRecord))]
    private sealed partial class AuditJsonContext : JsonSerializerContext;
}
