using System.Buffers;
using System.Text.Json;
using Fabric.Contracts.Audit;

namespace Fabric.Edge.Audit;

/// <summary>The spool's reading of what is on disk: lines parsed back into records, what waits, the newest record.</summary>
public sealed partial class AuditSpool
{
    /// <summary>How many complete, unacknowledged lines wait on disk (cheap: counts newlines).</summary>
    public long CountPending()
    {
        long count = 0;
        foreach (var (segment, _) in _segments.Where(s => s.Segment >= _checkpoint.Segment))
        {
            using var stream = new FileStream(SegmentPath(segment), FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            stream.Seek(segment == _checkpoint.Segment ? _checkpoint.Offset : 0, SeekOrigin.Begin);
            var buffer = new byte[64 * 1024];
            int read;
            while ((read = stream.Read(buffer)) > 0)
            {
                count += buffer.AsSpan(0, read).Count((byte)'\n');
            }
        }
        return count;
    }

    /// <summary>
    /// The newest complete record on disk, acknowledged or not (null when the spool holds none): the newest
    /// segment's last newline-terminated line that parses, read backwards, so a torn or zero-filled tail left
    /// by a crash is passed over for the record before it.
    /// </summary>
    public AuditRecord? LastRecord()
    {
        for (var i = _segments.Count - 1; i >= 0; i--)
        {
            using var handle = File.OpenHandle(SegmentPath(_segments[i].Segment));
            var length = RandomAccess.GetLength(handle);
            for (var window = Math.Min(length, 64 * 1024); window > 0; window = Math.Min(length, window * 2))
            {
                var start = length - window;
                var bytes = new byte[window];
                var read = RandomAccess.Read(handle, bytes, start);
                var span = bytes.AsSpan(0, read);
                var end = span.LastIndexOf((byte)'\n');
                while (end >= 0)
                {
                    var lineStart = span[..end].LastIndexOf((byte)'\n') + 1;
                    if (lineStart == 0 && start > 0)
                    {
                        break; // the line may begin before this window: read a wider one
                    }
                    if (TryParse(span[lineStart..end]) is { } record)
                    {
                        return record;
                    }
                    end = lineStart - 1;
                }
                if (start == 0)
                {
                    break;
                }
            }
        }
        return null;
    }

    /// <summary>
    /// Parses complete lines from <paramref name="stream"/>'s position (<paramref name="offset"/> in
    /// <paramref name="segment"/>) into <paramref name="records"/> until it holds <paramref name="max"/>;
    /// <paramref name="position"/> ends after the last complete line read. A torn, unterminated last line is
    /// left for later. Reads in blocks into one pooled buffer (it grows only for a line longer than it).
    /// </summary>
    private static void ReadLines(FileStream stream, long segment, long offset, List<AuditRecord> records, int max, ref (long Segment, long Offset) position)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(64 * 1024);
        var filled = 0;
        try
        {
            while (records.Count < max)
            {
                if (filled == buffer.Length)
                {
                    var bigger = ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
                    buffer.AsSpan(0, filled).CopyTo(bigger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = bigger;
                }
                var read = stream.Read(buffer, filled, buffer.Length - filled);
                if (read == 0)
                {
                    return;
                }
                filled += read;
                var start = 0;
                int newline;
                while (records.Count < max && (newline = buffer.AsSpan(start, filled - start).IndexOf((byte)'\n')) >= 0)
                {
                    offset += newline + 1;
                    position = (segment, offset);
                    if (TryParse(buffer.AsSpan(start, newline)) is { } record)
                    {
                        records.Add(record);
                    }
                    start += newline + 1;
                }
                // Keep the partial line for the next block.
                buffer.AsSpan(start, filled - start).CopyTo(buffer);
                filled -= start;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static AuditRecord? TryParse(ReadOnlySpan<byte> line)
    {
        try
        {
            return JsonSerializer.Deserialize(line, AuditJson.Record);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
