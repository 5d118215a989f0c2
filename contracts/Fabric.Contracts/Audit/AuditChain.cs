using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;

namespace Fabric.Contracts.Audit;

/// <summary>
/// The tamper-evident audit (issue 12 §7): each edge chains its records (sequence, previous record's hash, own hash
/// over the record's canonical JSON) and signs a checkpoint every so often with its SVID key. Anybody holding the
/// records and the trust bundle can walk an edge's chain and find the first record that was altered, removed,
/// inserted or reordered.
/// </summary>
public static class AuditChain
{
    /// <summary>SHA-256 (hex) of the record's JSON without its hash and signature fields.</summary>
    public static string HashOf(AuditRecord record) => Convert.ToHexStringLower(AuditJson.Sha256Of(
        record is { Hash: null, Signature: null, SignerCertificate: null } ? record : record with { Hash = null, Signature = null, SignerCertificate = null }));

    /// <summary>The record as the <paramref name="sequence"/>-th of its edge's chain after <paramref name="previousHash"/>.</summary>
    public static AuditRecord Link(AuditRecord record, long sequence, string? previousHash)
    {
        var linked = Unhashed(record, sequence, previousHash);
        return linked with { Hash = HashOf(linked) };
    }

    /// <summary>
    /// <see cref="Link(AuditRecord, long, string?)"/> that leaves the linked record's canonical JSON (what its hash covers) in
    /// <paramref name="canonical"/>, for <see cref="AuditJson.WriteLinked"/> to write the record from without serializing it again.
    /// </summary>
    public static AuditRecord Link(AuditRecord record, long sequence, string? previousHash, System.Buffers.ArrayBufferWriter<byte> canonical)
    {
        var linked = Unhashed(record, sequence, previousHash);
        canonical.ResetWrittenCount();
        AuditJson.Write(linked, canonical);
        return linked with { Hash = Convert.ToHexStringLower(SHA256.HashData(canonical.WrittenSpan)) };
    }

    /// <summary>The record in its place in the chain, before its hash: what the hash is computed over.</summary>
    private static AuditRecord Unhashed(AuditRecord record, long sequence, string? previousHash) =>
        record with { Sequence = sequence, PreviousHash = previousHash, Hash = null, Signature = null, SignerCertificate = null };

    /// <summary>Signs a linked record's hash: it becomes a checkpoint.</summary>
    public static AuditRecord Sign(AuditRecord linked, X509Certificate2 svid)
    {
        using var key = svid.GetECDsaPrivateKey() ?? throw new InvalidOperationException("the SVID has no ECDSA private key");
        var signature = key.SignData(Encoding.ASCII.GetBytes(linked.Hash!), HashAlgorithmName.SHA256);
        return linked with { Signature = Convert.ToBase64String(signature), SignerCertificate = svid.ExportCertificatePem() };
    }

    /// <summary>The outcome of walking one edge's chain: how far it holds, and the first break.</summary>
    public sealed record Report(string Edge, int Records, long FirstSequence, long LastSequence, int Checkpoints, Break? FirstBreak)
    {
        public bool Intact => FirstBreak is null;
    }

    public sealed record Break(long Sequence, Guid? RecordId, string Reason);

    /// <summary>
    /// Walks <paramref name="records"/> of one edge in sequence order. <paramref name="trustsSigner"/> says whether a
    /// checkpoint's certificate is this edge's SVID under the trust bundle (at the record's time). The log is bounded,
    /// so the walk starts at the oldest record kept; from there every link must hold.
    /// </summary>
    public static Report Verify(string edge, IReadOnlyList<AuditRecord> records, Func<AuditRecord, X509Certificate2, bool> trustsSigner)
    {
        var ordered = records.Where(r => r.Sequence > 0).OrderBy(r => r.Sequence).ToList();
        var checkpoints = 0;
        Break? first = null;
        AuditRecord? previous = null;
        foreach (var record in ordered)
        {
            first = Check(record, previous, trustsSigner, ref checkpoints);
            if (first is not null)
            {
                break;
            }
            previous = record;
        }
        first ??= records.Any(r => r.Sequence <= 0) ? new Break(0, records.First(r => r.Sequence <= 0).Id, "a record without a place in the chain") : null;
        return new Report(edge, records.Count, ordered.FirstOrDefault()?.Sequence ?? 0, ordered.LastOrDefault()?.Sequence ?? 0, checkpoints, first);
    }

    private static Break? Check(AuditRecord record, AuditRecord? previous, Func<AuditRecord, X509Certificate2, bool> trustsSigner, ref int checkpoints)
    {
        if (previous is not null && record.Sequence == previous.Sequence)
        {
            return new Break(record.Sequence, record.Id, "two records hold this place in the chain");
        }
        if (previous is not null && record.Sequence != previous.Sequence + 1)
        {
            return new Break(previous.Sequence + 1, null, $"missing: the chain goes from {previous.Sequence} to {record.Sequence}");
        }
        if (record.Hash is null || !string.Equals(HashOf(record), record.Hash, StringComparison.Ordinal))
        {
            return new Break(record.Sequence, record.Id, "altered: the record does not hash to its hash");
        }
        if (previous is not null && !string.Equals(record.PreviousHash, previous.Hash, StringComparison.Ordinal))
        {
            return new Break(record.Sequence, record.Id, "relinked: the previous hash is not the previous record's");
        }
        if (record.Signature is not null || record.SignerCertificate is not null)
        {
            if (!VerifySignature(record, trustsSigner))
            {
                return new Break(record.Sequence, record.Id, "forged checkpoint: the signature does not verify with a trusted SVID of this edge");
            }
            checkpoints++;
        }
        return null;
    }

    private static bool VerifySignature(AuditRecord record, Func<AuditRecord, X509Certificate2, bool> trustsSigner)
    {
        try
        {
            using var certificate = X509Certificate2.CreateFromPem(record.SignerCertificate);
            using var key = certificate.GetECDsaPublicKey();
            return key is not null && trustsSigner(record, certificate)
                && key.VerifyData(Encoding.ASCII.GetBytes(record.Hash!), Convert.FromBase64String(record.Signature!), HashAlgorithmName.SHA256);
        }
        catch (Exception ex) when (ex is CryptographicException or FormatException or ArgumentException)
        {
            return false;
        }
    }
}
