using System.Buffers;
using System.Security.Cryptography.X509Certificates;
using Fabric.Contracts.Audit;

namespace Fabric.Edge.Audit;

/// <summary>
/// Links this edge's records into its chain as they are spooled (issue 12 §7): sequence, the previous record's hash,
/// the record's own hash; every <see cref="CheckpointEvery"/> records or <see cref="CheckpointInterval"/> the record
/// is signed with the edge's SVID (a checkpoint). The chain starts from <paramref name="last"/>, the newest record
/// the spool holds on disk (<see cref="AuditSpool.LastRecord"/>), so it continues across restarts without a gap and
/// without a head file of its own to write and fsync per batch: a record is in the chain exactly when it reached the
/// disk. Runs on the spool thread only (single producer), so it needs no lock.
/// </summary>
internal sealed class AuditChainer(AuditRecord? last, Func<X509Certificate2?> signer, TimeProvider time)
{
    public const int CheckpointEvery = 1000;
    public static readonly TimeSpan CheckpointInterval = TimeSpan.FromSeconds(10);

    private (long Sequence, string? Hash) _head = (last?.Sequence ?? 0, last?.Hash);
    private int _sinceCheckpoint;
    private DateTimeOffset _lastCheckpoint = DateTimeOffset.MinValue;

    /// <summary>A canonical form's bytes, reused from record to record (spool thread only).</summary>
    private ArrayBufferWriter<byte> _canonical = new(4096);

    public IReadOnlyList<AuditRecord> Link(IReadOnlyList<AuditRecord> batch) => Link(batch, lines: null);

    /// <summary>
    /// Links <paramref name="batch"/> and, when <paramref name="lines"/> is given, writes each linked record's spool line
    /// there (its JSON and a newline, as <see cref="AuditSpool.Append(IReadOnlyList{AuditRecord}, Func{IReadOnlyList{AuditRecord}, IBufferWriter{byte}, IReadOnlyList{AuditRecord}})"/> takes them)
    /// from the bytes its hash was computed over: each record is serialized once.
    /// </summary>
    public IReadOnlyList<AuditRecord> Link(IReadOnlyList<AuditRecord> batch, IBufferWriter<byte>? lines)
    {
        var (sequence, hash) = _head;
        var linked = new AuditRecord[batch.Count];
        for (var i = 0; i < batch.Count; i++)
        {
            var record = AuditChain.Link(batch[i], ++sequence, hash, _canonical);
            _sinceCheckpoint++;
            var now = time.GetUtcNow();
            if ((_sinceCheckpoint >= CheckpointEvery || now - _lastCheckpoint >= CheckpointInterval) && signer() is { } svid)
            {
                record = AuditChain.Sign(record, svid);
                (_sinceCheckpoint, _lastCheckpoint) = (0, now);
            }
            if (lines is not null)
            {
                AuditJson.WriteLinked(_canonical.WrittenSpan, record, lines);
                lines.Write("\n"u8);
            }
            linked[i] = record;
            hash = record.Hash;
        }
        if (_canonical.Capacity > 64 * 1024)
        {
            _canonical = new ArrayBufferWriter<byte>(4096); // a huge record's buffer is not kept
        }
        _head = (sequence, hash);
        return linked;
    }
}
