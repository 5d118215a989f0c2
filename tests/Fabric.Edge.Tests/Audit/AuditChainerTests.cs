using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Fabric.Contracts.Audit;
using Fabric.Edge.Audit;

namespace Fabric.Edge.Tests.Audit;

/// <summary>Issue 12 §7: an edge signs a checkpoint every <see cref="AuditChainer.CheckpointEvery"/> records or every
/// <see cref="AuditChainer.CheckpointInterval"/>, whichever comes first, and links every record to the one before.</summary>
public sealed class AuditChainerTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("fabric-chainer-").FullName;
    private readonly ManualClock _clock = new();
    private readonly X509Certificate2 _svid = SelfSigned();

    [Fact]
    public void A_checkpoint_is_signed_at_the_first_record_then_every_thousand_records_or_ten_seconds()
    {
        var chainer = new AuditChainer(null, () => _svid, _clock);

        var first = chainer.Link([AuditSpoolTests.Record(0)]);
        var thousand = chainer.Link([.. Enumerable.Range(1, AuditChainer.CheckpointEvery).Select(AuditSpoolTests.Record)]);
        Assert.NotNull(first[0].Signature);
        Assert.All(thousand.Take(AuditChainer.CheckpointEvery - 1), r => Assert.Null(r.Signature));
        Assert.NotNull(thousand[^1].Signature); // the 1000th record after the last checkpoint
        Assert.Equal(1 + AuditChainer.CheckpointEvery, thousand[^1].Sequence);

        var quiet = chainer.Link([AuditSpoolTests.Record(5000)]);
        Assert.Null(quiet[0].Signature);
        _clock.Advance(AuditChainer.CheckpointInterval);
        var later = chainer.Link([AuditSpoolTests.Record(5001), AuditSpoolTests.Record(5002)]);
        Assert.NotNull(later[0].Signature);
        Assert.Null(later[1].Signature);

        // One unbroken chain, and every checkpoint verifies with the signer's key.
        var all = first.Concat(thousand).Concat(quiet).Concat(later).ToList();
        for (var i = 1; i < all.Count; i++)
        {
            Assert.Equal(all[i - 1].Sequence + 1, all[i].Sequence);
            Assert.Equal(all[i - 1].Hash, all[i].PreviousHash);
        }
        var report = AuditChain.Verify("e", all, (_, certificate) => certificate.Thumbprint == _svid.Thumbprint);
        Assert.True(report.Intact, report.FirstBreak?.Reason);
        Assert.Equal(3, report.Checkpoints);
    }

    [Fact]
    public void Without_an_svid_yet_no_record_is_signed_and_the_chain_still_links()
    {
        var chainer = new AuditChainer(null, () => null, _clock);
        var linked = chainer.Link([AuditSpoolTests.Record(0), AuditSpoolTests.Record(1)]);
        Assert.All(linked, r => Assert.Null(r.Signature));
        Assert.Equal(linked[0].Hash, linked[1].PreviousHash);
    }

    private static X509Certificate2 SelfSigned()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=edge", key, HashAlgorithmName.SHA256);
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddHours(1));
    }

    public void Dispose()
    {
        _svid.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    private sealed class ManualClock : TimeProvider
    {
        private DateTimeOffset _now = new(2026, 12, 3, 12, 0, 0, TimeSpan.Zero);
        public override DateTimeOffset GetUtcNow() => _now;
        public void Advance(TimeSpan by) => _now += by;
    }
}
