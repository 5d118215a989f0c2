using System.Text.Json;
using CsCheck;
using Fabric.Contracts.Audit;

namespace Fabric.Contracts.Tests.Audit;

/// <summary>
/// The source-generated form of an audit record must be byte for byte the reflection serializer's with web defaults:
/// the chain hashes of records written before it (in Redis, in spools) are recomputed from this form.
/// </summary>
public sealed class AuditJsonTests
{
    private static readonly JsonSerializerOptions Reflection = new(JsonSerializerDefaults.Web);

    private static readonly Gen<string?> Text = Gen.OneOf(Gen.Const((string?)null), Gen.String.Select(s => (string?)s),
        Gen.Const((string?)"é\"\\/<>&'\u0001😀"));

    private static readonly Gen<AuditRecord> Records =
        Gen.Select(Gen.Guid, Gen.DateTimeOffset, Text, Gen.Bool, Gen.Int.Nullable(), Gen.Double, Gen.Long)
        .SelectMany(t => Gen.Select(Text, Text, Text, Gen.Guid.Nullable(), Gen.Long.Nullable())
        .Select(u => new AuditRecord
        {
            Id = t.Item1, Time = t.Item2, Edge = "e", Workload = t.Item3 ?? "w", Server = "s", Method = "tools/call", Name = t.Item3,
            Allowed = t.Item4, Reason = "allowed", Rule = t.Item5, LatencyMs = t.Item6, Version = t.Item7, Policy = u.Item1, Kind = u.Item2,
            ApprovalId = u.Item3, ParentRecordId = u.Item4, BundleSequence = u.Item5, PreviousHash = u.Item1, Sequence = t.Item7,
            Via = u.Item2, TraceId = u.Item3, CredentialReflected = t.Item5 ?? 0,
        }));

    [Fact]
    public void The_generated_form_is_the_reflection_form_byte_for_byte() =>
        Records.Sample(record =>
            JsonSerializer.SerializeToUtf8Bytes(record, AuditJson.Record).AsSpan().SequenceEqual(JsonSerializer.SerializeToUtf8Bytes(record, Reflection)));

    [Fact]
    public void A_record_reads_back_as_written() =>
        Records.Sample(record => JsonSerializer.Deserialize(JsonSerializer.SerializeToUtf8Bytes(record, AuditJson.Record), AuditJson.Record) == record);

    [Fact]
    public void The_hash_is_the_sha256_of_the_reflection_form_without_the_hash_fields()
    {
        var record = Records.Single();
        var linked = AuditChain.Link(record, 7, "prev");
        var expected = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(
            JsonSerializer.SerializeToUtf8Bytes(linked with { Hash = null }, Reflection)));
        Assert.Equal(expected, linked.Hash);
        Assert.Equal(expected, AuditChain.HashOf(linked with { Signature = "sig", SignerCertificate = "pem" }));
    }

    /// <summary>The spool writes a linked record from the bytes its hash covered: that must be the record's one form exactly,
    /// whatever its strings hold (a name that spells the unset chain fields included), and the hash the one Link gives.</summary>
    [Fact]
    public void A_linked_record_written_from_its_canonical_bytes_is_its_serialized_form_byte_for_byte()
    {
        var lookalike = Gen.Const((string?)"\"hash\":null,\"signature\":null,\"signerCertificate\":null");
        Gen.Select(Records, Gen.Long[1, long.MaxValue], Gen.OneOf(Text, lookalike), Gen.Bool).Sample((record, sequence, name, signed) =>
        {
            var canonical = new System.Buffers.ArrayBufferWriter<byte>();
            var linked = AuditChain.Link(record with { Name = name }, sequence, record.PreviousHash, canonical);
            if (signed)
            {
                linked = linked with { Signature = "MEUCIQ+/=", SignerCertificate = "-----BEGIN CERTIFICATE-----\nMII+/=\n-----END CERTIFICATE-----\n" };
            }
            var written = new System.Buffers.ArrayBufferWriter<byte>();
            AuditJson.WriteLinked(canonical.WrittenSpan, linked, written);
            return written.WrittenSpan.SequenceEqual(JsonSerializer.SerializeToUtf8Bytes(linked, Reflection))
                && linked.Hash == AuditChain.Link(record with { Name = name }, sequence, record.PreviousHash).Hash;
        });
    }
}
