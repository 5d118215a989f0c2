using Fabric.Contracts.Audit;
using Fabric.Edge.Audit;

namespace Fabric.Edge.Tests.Audit;

public sealed class AuditSpoolTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "fabric-spool-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    internal static AuditRecord Record(int n) => new()
    {
        Id = Guid.NewGuid(),
        Time = DateTimeOffset.UnixEpoch.AddSeconds(n),
        Edge = "e",
        Workload = "spiffe://fabric.local/agents/a",
        Server = "s",
        Method = "tools/call",
        Name = "tool-" + n,
        Allowed = n % 2 == 0,
        Reason = n % 2 == 0 ? "allowed" : "explicit-deny",
    };

    [Fact]
    public void Records_come_back_in_order_and_a_commit_is_remembered_across_processes()
    {
        var written = Enumerable.Range(0, 10).Select(Record).ToList();
        using (var spool = new AuditSpool(_directory, 1 << 20))
        {
            spool.Append(written[..6]);
            spool.Append(written[6..]);
            var (first, next) = spool.Read(4);
            Assert.Equal(written[..4].Select(r => r.Id), first.Select(r => r.Id));
            spool.Commit(next);
        }

        using var reopened = new AuditSpool(_directory, 1 << 20);
        var (rest, _) = reopened.Read(100);

        Assert.Equal(written[4..].Select(r => r.Id), rest.Select(r => r.Id));
        Assert.Equal(written[4], rest[0]);
    }

    [Fact]
    public void Reads_served_from_memory_match_what_a_new_process_reads_from_disk_position_for_position()
    {
        var written = Enumerable.Range(0, 12).Select(Record).ToList();
        var fromMemory = new List<(List<Guid> Ids, (long, long) Next)>();
        using (var spool = new AuditSpool(_directory, 1 << 20))
        {
            spool.Append(written[..5]);
            spool.Append(written[5..9]);
            var (first, next) = spool.Read(3);
            fromMemory.Add(([.. first.Select(r => r.Id)], next));
            spool.Commit(next);
            spool.Append(written[9..]);
            var (second, after) = spool.Read(100);
            fromMemory.Add(([.. second.Select(r => r.Id)], after));
            // Served from memory: the very objects appended, not copies parsed back from disk.
            Assert.Same(written[3], second[0]);
        }
        Directory.Delete(_directory, recursive: true);

        // The same batches in a fresh spool, read back by another process: from disk only.
        var disk = new AuditSpool(_directory, 1 << 20);
        disk.Append(written[..5]);
        disk.Append(written[5..9]);
        disk.Append(written[9..]);
        disk.Dispose();
        using var reopened = new AuditSpool(_directory, 1 << 20);
        var (diskFirst, diskNext) = reopened.Read(3);
        reopened.Commit(diskNext);
        var (diskSecond, diskAfter) = reopened.Read(100);

        Assert.Equal(fromMemory[0].Ids, diskFirst.Select(r => r.Id));
        Assert.Equal(fromMemory[0].Next, diskNext);
        Assert.Equal(fromMemory[1].Ids, diskSecond.Select(r => r.Id));
        Assert.Equal(fromMemory[1].Next, diskAfter);
        Assert.Equal(written[3], diskSecond[0]);
    }

    [Fact]
    public void A_torn_last_line_from_a_crash_is_skipped_and_later_appends_still_read()
    {
        using (var spool = new AuditSpool(_directory, 1 << 20))
        {
            spool.Append([Record(1), Record(2)]);
        }
        var segment = Directory.EnumerateFiles(_directory, "*.jsonl").Single();
        File.AppendAllText(segment, "{\"id\":\"torn");

        using var reopened = new AuditSpool(_directory, 1 << 20);
        reopened.Append([Record(3)]);
        var (records, _) = reopened.Read(100);

        Assert.Equal(["tool-1", "tool-2", "tool-3"], records.Select(r => r.Name));
    }

    [Fact]
    public void A_second_process_cannot_open_the_same_spool()
    {
        using var spool = new AuditSpool(_directory, 1 << 20);

        var error = Assert.Throws<InvalidOperationException>(() => new AuditSpool(_directory, 1 << 20));

        Assert.Contains("AuditSpoolDirectory", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Fully_shipped_segments_are_deleted()
    {
        using var spool = new AuditSpool(_directory, 1 << 20);
        spool.Append([Record(1)]);
        spool.Dispose();
        using var second = new AuditSpool(_directory, 1 << 20);  // starts a new segment
        second.Append([Record(2)]);

        var (records, next) = second.Read(100);
        second.Commit(next);

        Assert.Equal(2, records.Count);
        Assert.Single(Directory.EnumerateFiles(_directory, "*.jsonl"));
    }

    [Fact]
    public void The_newest_record_stays_on_disk_after_everything_shipped_and_is_found_past_a_torn_or_zero_filled_tail()
    {
        var chainer = new AuditChainer(null, () => null, TimeProvider.System);
        var linked = chainer.Link([.. Enumerable.Range(0, 6).Select(Record)]).ToList();
        using (var spool = new AuditSpool(_directory, 1 << 20))
        {
            spool.Append(linked[..3]);
        }
        using (var spool = new AuditSpool(_directory, 1 << 20))
        {
            spool.Append(linked[3..]);
            var (_, next) = spool.Read(100);
            spool.Commit(next); // everything shipped: the first segment is deleted
        }
        var newest = Directory.EnumerateFiles(_directory, "*.jsonl").Single();
        // A crash during the next append: a torn line, then the zeros a file system can leave after a power cut.
        File.AppendAllText(newest, "{\"id\":\"to");
        using (var file = new FileStream(newest, FileMode.Append))
        {
            file.Write(new byte[4096]);
        }

        using var reopened = new AuditSpool(_directory, 1 << 20);
        var last = reopened.LastRecord();

        Assert.NotNull(last);
        Assert.Equal(linked[^1].Id, last.Id);
        Assert.Equal(6, last.Sequence);
        Assert.Equal(linked[^1].Hash, last.Hash);
    }

    [Fact]
    public void The_last_record_is_found_when_it_is_longer_than_one_read_window_and_older_segments_serve_when_the_newest_holds_none()
    {
        var big = Record(1) with { Name = new string('x', 200_000) };
        using (var spool = new AuditSpool(_directory, 1 << 22))
        {
            spool.Append([Record(0), big]);
        }
        using (var spool = new AuditSpool(_directory, 1 << 22))
        {
            Assert.Equal(big.Id, spool.LastRecord()?.Id);
            spool.Append([Record(2)]);
        }
        // The newest segment holds only a torn line: the record before it, in the older segment, is the newest.
        var newest = Directory.EnumerateFiles(_directory, "*.jsonl").Order().Last();
        File.WriteAllText(newest, "{\"id\":");

        using var reopened = new AuditSpool(_directory, 1 << 22);
        Assert.Equal(big.Id, reopened.LastRecord()?.Id);
    }

    [Fact]
    public void An_empty_spool_has_no_last_record()
    {
        using var spool = new AuditSpool(_directory, 1 << 20);
        Assert.Null(spool.LastRecord());
    }

    [Theory]
    [InlineData("")]
    [InlineData("\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0")]
    [InlineData("00000000000000000001 0000000")]
    [InlineData("garbage")]
    public void A_checkpoint_lost_or_torn_by_a_crash_ships_records_again_and_never_skips_one(string checkpoint)
    {
        var written = Enumerable.Range(0, 8).Select(Record).ToList();
        using (var spool = new AuditSpool(_directory, 1 << 20))
        {
            spool.Append(written[..5]);
            var (_, next) = spool.Read(3);
            spool.Commit(next);
            spool.Append(written[5..]);
        }
        File.WriteAllText(Path.Combine(_directory, "checkpoint"), checkpoint);

        using var reopened = new AuditSpool(_directory, 1 << 20);
        var (records, _) = reopened.Read(100);

        // From the oldest record still on disk: the three acknowledged ones again (the cluster keeps one per id), then the rest.
        Assert.Equal(written.Select(r => r.Id), records.Select(r => r.Id));
    }

    [Fact]
    public void A_checkpoint_written_without_fsync_is_read_back_by_the_next_process()
    {
        var written = Enumerable.Range(0, 9).Select(Record).ToList();
        using (var spool = new AuditSpool(_directory, 1 << 20))
        {
            spool.Append(written);
            for (var shipped = 0; shipped < 3; shipped++)
            {
                var (_, next) = spool.Read(3);
                if (shipped < 2)
                {
                    spool.Commit(next);
                }
            }
        }

        using var reopened = new AuditSpool(_directory, 1 << 20);
        var (records, _) = reopened.Read(100);

        Assert.Equal(written[6..].Select(r => r.Id), records.Select(r => r.Id));
    }

    [Fact]
    public void Past_the_size_cap_the_oldest_segments_are_dropped_and_counted_and_the_newest_never()
    {
        using (var spool = new AuditSpool(_directory, 1 << 20))
        {
            spool.Append([.. Enumerable.Range(0, 4).Select(Record)]);
        }
        using (var spool = new AuditSpool(_directory, 1 << 20))
        {
            spool.Append([.. Enumerable.Range(4, 4).Select(Record)]);
        }

        var sizes = Directory.EnumerateFiles(_directory, "*.jsonl").Order().Select(f => new FileInfo(f).Length).ToList();
        // Room for two and a half segments of four records: the third segment's append drops the oldest.
        using var capped = new AuditSpool(_directory, sizes[0] + sizes[1] + sizes[1] / 2);
        capped.Append([.. Enumerable.Range(8, 4).Select(Record)]);

        Assert.Equal(4, capped.Dropped);
        Assert.Equal(2, Directory.EnumerateFiles(_directory, "*.jsonl").Count());
        var (records, _) = capped.Read(100);
        Assert.Equal(Enumerable.Range(4, 8).Select(n => "tool-" + n), records.Select(r => r.Name));
        Assert.Equal("tool-11", capped.LastRecord()?.Name);
    }
}
