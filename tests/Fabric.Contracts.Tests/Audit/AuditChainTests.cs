using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Fabric.Contracts.Audit;

namespace Fabric.Contracts.Tests.Audit;

/// <summary>Issue 12 §7: an edge's chain holds until one record is altered, removed, relinked or a checkpoint forged, and says where.</summary>
public class AuditChainTests
{
    private static readonly X509Certificate2 Signer = SelfSigned();
    private static readonly X509Certificate2 Other = SelfSigned();

    private static X509Certificate2 SelfSigned()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=edge", key, HashAlgorithmName.SHA256);
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddHours(1));
        return X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pfx), null);
    }

    private static List<AuditRecord> Chain(int count, int signEvery = 3)
    {
        var records = new List<AuditRecord>();
        string? previous = null;
        for (var i = 1; i <= count; i++)
        {
            var record = AuditChain.Link(new AuditRecord
            {
                Id = Guid.NewGuid(), Time = DateTimeOffset.UnixEpoch.AddSeconds(i), Edge = "e1", Workload = "spiffe://td/agents/a",
                Server = "files", Method = "tools/call", Name = "read", Allowed = true, Reason = "allowed", LatencyMs = 0.1 * i,
            }, i, previous);
            if (i % signEvery == 0)
            {
                record = AuditChain.Sign(record, Signer);
            }
            records.Add(record);
            previous = record.Hash;
        }
        return records;
    }

    private static AuditChain.Report Verify(IReadOnlyList<AuditRecord> records) =>
        AuditChain.Verify("e1", records, (_, certificate) => certificate.Thumbprint == Signer.Thumbprint);

    /// <summary>Where the first break is and the first word of why.</summary>
    private static (long, string) Located(AuditChain.Report report) =>
        (report.FirstBreak!.Sequence, report.FirstBreak.Reason.Split(':', ' ')[0]);

    [Fact]
    public void An_untouched_chain_is_intact_in_any_order_it_is_read_back()
    {
        var records = Chain(7);
        var report = Verify([.. records.AsEnumerable().Reverse()]);
        Assert.True(report.Intact, report.FirstBreak?.Reason);
        Assert.Equal((1L, 7L, 2), (report.FirstSequence, report.LastSequence, report.Checkpoints));
    }

    [Fact]
    public void An_altered_record_is_found_where_it_is()
    {
        var records = Chain(7);
        records[3] = records[3] with { Allowed = false };
        Assert.Equal((4L, "altered"), Located(Verify(records)));
        // Recomputing its hash does not help: the next record names the old one.
        records[3] = records[3] with { Hash = AuditChain.HashOf(records[3]) };
        Assert.Equal((5L, "relinked"), Located(Verify(records)));
    }

    [Fact]
    public void A_removed_or_duplicated_record_is_found()
    {
        var records = Chain(7);
        var removed = records[4];
        records.RemoveAt(4);
        var report = Verify(records);
        Assert.Equal((5L, "missing"), Located(report));
        Assert.Null(report.FirstBreak!.RecordId);
        records.Insert(4, removed);
        records.Add(records[2] with { Id = Guid.NewGuid() });
        Assert.Equal(3L, Verify(records).FirstBreak!.Sequence);
    }

    [Fact]
    public void A_forged_or_untrusted_checkpoint_is_found()
    {
        var records = Chain(7);
        using (var key = Other.GetECDsaPrivateKey())
        {
            // Another key's signature with the trusted certificate attached.
            var forged = Convert.ToBase64String(key!.SignData(System.Text.Encoding.ASCII.GetBytes(records[2].Hash!), HashAlgorithmName.SHA256));
            records[2] = records[2] with { Signature = forged };
        }
        Assert.Equal((3L, "forged"), Located(Verify(records)));
        var resigned = Chain(7);
        resigned[5] = AuditChain.Sign(resigned[5] with { Signature = null, SignerCertificate = null }, Other);
        Assert.Equal((6L, "forged"), Located(Verify(resigned)));
    }
}
