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
}
