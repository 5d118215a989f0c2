using System.Buffers;
using System.Globalization;
using Fabric.Contracts.Audit;

namespace Fabric.Edge.Audit;

/// <summary>
/// The edge's on-disk audit buffer: records are appended as JSON lines to numbered segment files and
/// fsync'd per batch (group commit) before they count as written; a checkpoint file says how far
/// the cluster has acknowledged. A new edge process with the same directory ships what an earlier
/// one left behind, in order.
/// <code>
///   00000000000000000001.jsonl  ← shipped up to the checkpoint, deleted once fully shipped
///   00000000000000000002.jsonl  ← appended to
///   checkpoint                  ← "segment offset", fixed width, overwritten in place (no fsync)
/// </code>
/// A crash mid-append can leave a torn last line; it is skipped (it was never acknowledged to
/// anyone). Past <see cref="MaxBytes"/> the oldest segment is dropped and counted, never silently.
/// <para>
/// The checkpoint is not fsync'd: a checkpoint lost or torn by a crash only falls back to an earlier position
/// (or the oldest segment), so records the cluster already has are shipped again, and the cluster keeps one
/// record per id. It is never ahead of what was acknowledged, because it is written only after the ack. The
/// newest record always stays on disk (a segment is deleted only once a later one holds the checkpoint, and the
/// size cap never drops the newest segment), which is what lets <see cref="LastRecord"/> recover the audit
/// chain's head after a restart without a file of its own.
/// </para>
/// Single consumer, single producer: the audit shipper's loop owns it.
/// <para>
/// The records this process appended are also kept in memory (up to <see cref="MaxTailRecords"/>) with
/// where each one ends on disk, so <see cref="Read"/> hands back the very records it just fsync'd instead of
/// reading and parsing them again; the disk is read only for what an earlier process left, or after the
/// memory tail was given up. Either way the same records in the same order with the same positions.
/// </para>
/// </summary>
public sealed partial class AuditSpool : IDisposable
{
    private const string Extension = ".jsonl";
    private const string CheckpointFile = "checkpoint";
    private const long SegmentBytes = 8 * 1024 * 1024;

    private readonly string _directory;
    private readonly FileStream _lock;
    private const int MaxRetainedAppendBuffer = 1024 * 1024;
    /// <summary>At most this many appended records are kept in memory; past it (the cluster is away) the disk serves.</summary>
    private const int MaxTailRecords = 16 * 1024;

    private FileStream? _writer;
    /// <summary>The checkpoint file, kept open: each commit is one positioned write of <see cref="CheckpointWidth"/> bytes.</summary>
    private readonly FileStream _checkpointFile;
    private const int CheckpointWidth = 41;
    /// <summary>Every segment on disk, oldest first, with its size: kept here so an append lists no directory.</summary>
    private readonly List<(long Segment, long Bytes)> _segments;
    /// <summary>Reused by <see cref="Append"/> (single producer) so a batch does not regrow a fresh buffer.</summary>
    private ArrayBufferWriter<byte> _appendBuffer = new();
    private long _writerSegment;
    private (long Segment, long Offset) _checkpoint;
    private bool _pruned;

    /// <summary>
    /// Records appended by this process and not yet acknowledged, in order, each with where its line starts
    /// and ends on disk. Always a contiguous run of lines: a batch that does not fit empties it.
    /// </summary>
    private readonly Queue<Spooled> _tail = new();

    private readonly record struct Spooled(AuditRecord Record, long Segment, long Start, long End);

    public AuditSpool(string directory, long maxBytes)
    {
        _directory = directory;
        MaxBytes = maxBytes;
        Directory.CreateDirectory(directory);
        try
        {
            // One process per spool: a second edge with the same directory would interleave segments.
            _lock = new FileStream(Path.Combine(directory, "lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException ex)
        {
            throw new InvalidOperationException(
                $"The audit spool '{directory}' is in use by another edge process; give each edge its own Fabric:Edge:AuditSpoolDirectory.", ex);
        }
        _segments = [.. ListSegments().Select(s => (s, new FileInfo(SegmentPath(s)).Length))];
        _checkpoint = ReadCheckpoint();
        _checkpointFile = new FileStream(Path.Combine(directory, CheckpointFile), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read, 1);
        // In the fixed-width form from here on, whatever an earlier process wrote.
        WriteCheckpoint(_checkpoint);
        _checkpointFile.SetLength(CheckpointWidth);
        // Never append to a segment an earlier process may have torn: start a fresh one.
        _writerSegment = Math.Max(_segments.Count > 0 ? _segments[^1].Segment : 0, _checkpoint.Segment) + 1;
    }

    public long MaxBytes { get; }

    /// <summary>Records dropped because the spool outgrew <see cref="MaxBytes"/>.</summary>
    public long Dropped { get; private set; }

    /// <summary>Writes since open, each one fsync (a group of records shares one); read from any thread.</summary>
    public long Writes => Interlocked.Read(ref _writes);

    private long _writes;

    /// <summary>Appends and fsyncs a batch; when this returns the records survive a crash.</summary>
    public void Append(IReadOnlyList<AuditRecord> records) => Append(records, static (batch, lines) =>
    {
        foreach (var record in batch)
        {
            AuditJson.Write(record, lines);
            lines.Write("\n"u8);
        }
        return batch;
    });

    /// <summary>
    /// Appends and fsyncs a batch that <paramref name="write"/> turns into JSON lines in the spool's buffer, one
    /// newline-terminated line per record it returns, in order (JSON escapes every newline inside a value, so the newlines
    /// are the line ends): the audit chain links the records and writes their lines in one pass.
    /// </summary>
    public void Append(IReadOnlyList<AuditRecord> batch, Func<IReadOnlyList<AuditRecord>, IBufferWriter<byte>, IReadOnlyList<AuditRecord>> write)
    {
        var buffer = _appendBuffer;
        buffer.ResetWrittenCount();
        var records = write(batch, buffer);
        Append(records, buffer.WrittenSpan);
        if (buffer.Capacity > MaxRetainedAppendBuffer)
        {
            // A burst's buffer is not kept for the quiet time after it.
            _appendBuffer = new ArrayBufferWriter<byte>();
        }
    }

    private void Append(IReadOnlyList<AuditRecord> records, ReadOnlySpan<byte> lines)
    {
        if (records.Count == 0)
        {
            return;
        }
        if (_writer is null || _writer.Position >= SegmentBytes)
        {
            _writer?.Dispose();
            if (_writer is not null)
            {
                _writerSegment++;
            }
            _writer = new FileStream(SegmentPath(_writerSegment), FileMode.Append, FileAccess.Write, FileShare.Read, 64 * 1024);
            _segments.Add((_writerSegment, 0));
        }
        var start = _writer.Position;
        _writer.Write(lines);
        _writer.Flush(flushToDisk: true);
        Interlocked.Increment(ref _writes);
        _segments[^1] = (_writerSegment, _writer.Position);
        if (_tail.Count + records.Count > MaxTailRecords)
        {
            _tail.Clear();
        }
        else
        {
            var offset = 0;
            foreach (var record in records)
            {
                var end = offset + lines[offset..].IndexOf((byte)'\n') + 1;
                _tail.Enqueue(new Spooled(record, _writerSegment, start + offset, start + end));
                offset = end;
            }
        }
        EnforceLimit();
    }

    /// <summary>Up to <paramref name="max"/> unacknowledged records in order, and the position after them.</summary>
    public (IReadOnlyList<AuditRecord> Records, (long Segment, long Offset) Next) Read(int max)
    {
        if (_tail.TryPeek(out var head) && (head.Segment, head.Start) == _checkpoint)
        {
            // The next unacknowledged line is the first one this process still holds: serve the run from memory.
            var fromMemory = new List<AuditRecord>(Math.Min(max, _tail.Count));
            var end = _checkpoint;
            foreach (var spooled in _tail)
            {
                if (fromMemory.Count == max)
                {
                    break;
                }
                fromMemory.Add(spooled.Record);
                end = (spooled.Segment, spooled.End);
            }
            return (fromMemory, end);
        }
        var records = new List<AuditRecord>(Math.Min(max, 1024));
        var position = _checkpoint;
        foreach (var (segment, _) in _segments.Where(s => s.Segment >= _checkpoint.Segment))
        {
            var offset = segment == _checkpoint.Segment ? _checkpoint.Offset : 0;
            using var stream = new FileStream(SegmentPath(segment), FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            stream.Seek(offset, SeekOrigin.Begin);
            ReadLines(stream, segment, offset, records, max, ref position);
            if (records.Count >= max)
            {
                break;
            }
            // A segment still being written has no newer one after it; stop at its current end.
        }
        return (records, position);
    }

    /// <summary>Records everything before <paramref name="next"/> as acknowledged and deletes fully shipped segments.</summary>
    public void Commit((long Segment, long Offset) next)
    {
        var previous = _checkpoint;
        _checkpoint = next;
        while (_tail.TryPeek(out var head) && (head.Segment < next.Segment || (head.Segment == next.Segment && head.End <= next.Offset)))
        {
            _tail.Dequeue();
        }
        WriteCheckpoint(next);
        // Segments before the checkpoint's are deleted once it moves on (and once after start-up, for what an
        // earlier process left): while it stays in one segment there is nothing new to delete.
        if (!_pruned || next.Segment != previous.Segment)
        {
            while (_segments.Count > 0 && _segments[0].Segment < next.Segment)
            {
                File.Delete(SegmentPath(_segments[0].Segment));
                _segments.RemoveAt(0);
            }
            _pruned = true;
        }
    }

    /// <summary>One positioned write over the previous checkpoint, left to the page cache (see the class summary).</summary>
    private void WriteCheckpoint((long Segment, long Offset) checkpoint)
    {
        Span<byte> text = stackalloc byte[CheckpointWidth];
        if (!System.Text.Unicode.Utf8.TryWrite(text, CultureInfo.InvariantCulture, $"{checkpoint.Segment:D20} {checkpoint.Offset:D20}", out var length) || length != CheckpointWidth)
        {
            throw new InvalidOperationException("A spool position does not fit the checkpoint's width.");
        }
        RandomAccess.Write(_checkpointFile.SafeFileHandle, text, 0);
    }

    public void Dispose()
    {
        _writer?.Dispose();
        _checkpointFile.Dispose();
        _lock.Dispose();
    }

    private void EnforceLimit()
    {
        var total = 0L;
        foreach (var (_, bytes) in _segments)
        {
            total += bytes;
        }
        while (_segments.Count > 1 && total > MaxBytes)
        {
            var (oldest, bytes) = _segments[0];
            Dropped += File.ReadLines(SegmentPath(oldest)).Count();
            File.Delete(SegmentPath(oldest));
            _segments.RemoveAt(0);
            total -= bytes;
            while (_tail.TryPeek(out var head) && head.Segment <= oldest)
            {
                _tail.Dequeue();
            }
            if (_checkpoint.Segment <= oldest)
            {
                _checkpoint = (_segments[0].Segment, 0);
            }
        }
    }

    private (long, long) ReadCheckpoint()
    {
        // Missing, empty, torn or zero-filled (a crash before the page cache reached the disk): start at the
        // oldest segment, which only ships again what the cluster may already have.
        var path = Path.Combine(_directory, CheckpointFile);
        var oldest = (_segments.Count > 0 ? _segments[0].Segment : 0, 0L);
        if (!File.Exists(path))
        {
            return oldest;
        }
        var parts = File.ReadAllText(path).Split(' ');
        return parts.Length == 2
            && long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var segment)
            && long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var offset)
            && segment > 0
                ? (segment, offset)
                : oldest;
    }

    private IEnumerable<long> ListSegments() =>
        Directory.EnumerateFiles(_directory, "*" + Extension)
            .Select(f => long.TryParse(Path.GetFileNameWithoutExtension(f), NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : -1)
            .Where(n => n >= 0)
            .Order();

    private string SegmentPath(long segment) =>
        Path.Combine(_directory, segment.ToString("D20", CultureInfo.InvariantCulture) + Extension);
}
