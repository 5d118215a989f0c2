using System.Globalization;
using System.Security.Cryptography.X509Certificates;
using Fabric.Contracts.Audit;

namespace Fabric.Edge.Audit;

/// <summary>
/// Links this edge's records into its chain as they are spooled (issue 12 §7): sequence, the previous record's hash,
/// the record's own hash; every <see cref="CheckpointEvery"/> records or <see cref="CheckpointInterval"/> the record
/// is signed with the edge's SVID (a checkpoint). The chain's head (last sequence and hash) is kept in a file beside
/// the spool, fsync'd with each batch, so the chain continues across restarts without a gap. Runs on the spool
/// thread only (single producer), so it needs no lock.
/// </summary>
internal sealed class AuditChainer(string directory, Func<X509Certificate2?> signer, TimeProvider time)
{
    public const int CheckpointEvery = 1000;
    public static readonly TimeSpan CheckpointInterval = TimeSpan.FromSeconds(10);
    private const string HeadFile = "chain";

    private readonly string _path = Path.Combine(directory, HeadFile);
    private (long Sequence, string? Hash)? _head;
    private int _sinceCheckpoint;
    private DateTimeOffset _lastCheckpoint = DateTimeOffset.MinValue;

    public IReadOnlyList<AuditRecord> Link(IReadOnlyList<AuditRecord> batch)
    {
        var (sequence, hash) = _head ??= ReadHead();
        var linked = new AuditRecord[batch.Count];
        for (var i = 0; i < batch.Count; i++)
        {
            var record = AuditChain.Link(batch[i], ++sequence, hash);
            _sinceCheckpoint++;
            var now = time.GetUtcNow();
            if ((_sinceCheckpoint >= CheckpointEvery || now - _lastCheckpoint >= CheckpointInterval) && signer() is { } svid)
            {
                record = AuditChain.Sign(record, svid);
                (_sinceCheckpoint, _lastCheckpoint) = (0, now);
            }
            linked[i] = record;
            hash = record.Hash;
        }
        _head = (sequence, hash);
        return linked;
    }

    /// <summary>Persists the head once the batch is on disk (the spool fsync'd it): written to a temp file, fsync'd, renamed.</summary>
    public void Commit()
    {
        if (_head is not { } head)
        {
            return;
        }
        var temp = _path + ".tmp";
        using (var file = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            var text = System.Text.Encoding.ASCII.GetBytes(head.Sequence.ToString(CultureInfo.InvariantCulture) + " " + (head.Hash ?? "-"));
            file.Write(text);
            file.Flush(flushToDisk: true);
        }
        File.Move(temp, _path, overwrite: true);
    }

    private (long, string?) ReadHead()
    {
        try
        {
            var parts = File.ReadAllText(_path).Split(' ');
            return parts.Length == 2 && long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var sequence)
                ? (sequence, parts[1] == "-" ? null : parts[1])
                : (0, null);
        }
        catch (FileNotFoundException)
        {
            return (0, null);
        }
    }
}
