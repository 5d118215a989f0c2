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
