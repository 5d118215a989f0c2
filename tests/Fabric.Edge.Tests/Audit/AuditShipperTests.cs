using Fabric.Contracts.Audit;
using Fabric.Edge.Audit;
using Fabric.Edge.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Fabric.Edge.Tests.Audit;

/// <summary>No audit record is lost while the cluster is away, nor when the edge dies: the next edge ships it, once.</summary>
public sealed class AuditShipperTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "fabric-shipper-" + Guid.NewGuid().ToString("N"));

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

    /// <summary>An audit sink that refuses (as an unreachable cluster does) until opened, and records what it got.</summary>
    private sealed class GateSink : IAuditSink
    {
        private readonly List<AuditRecord> _received = [];
        public volatile bool Open;
        public TaskCompletionSource Refused { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public IReadOnlyList<AuditRecord> Received
        {
            get
            {
                lock (_received)
                {
                    return [.. _received];
                }
            }
        }

        public Task AppendAsync(IReadOnlyList<AuditRecord> records)
        {
            if (!Open)
            {
                Refused.TrySetResult();
                throw new OrleansException("cluster unreachable");
            }
            lock (_received)
            {
                _received.AddRange(records);
            }
            return Task.CompletedTask;
        }
    }

    private AuditShipper Shipper(IAuditSink sink, TimeSpan? spoolLinger = null) => new(
        sink,
        Options.Create(new EdgeOptions { Name = "t", AuditSpoolDirectory = _directory, AuditBatchSize = 7, AuditSpoolLinger = spoolLinger ?? TimeSpan.FromMilliseconds(2) }),
        TimeProvider.System,
        NullLogger<AuditShipper>.Instance);

    [Fact]
    public async Task Records_of_an_edge_that_died_while_the_cluster_was_away_are_shipped_by_the_next_edge_once()
    {
        var records = Enumerable.Range(0, 20).Select(AuditSpoolTests.Record).ToList();
        var down = new GateSink();
        using (var first = Shipper(down))
        {
            await first.StartAsync(CancellationToken.None);
            foreach (var record in records)
            {
                first.Enqueue(record);
            }
            await down.Refused.Task.WaitAsync(TimeSpan.FromSeconds(10));
            await first.StopAsync(CancellationToken.None);   // the edge goes away with nothing shipped
        }

        var up = new GateSink { Open = true };
        using var second = Shipper(up);
        await second.StartAsync(CancellationToken.None);
        var more = AuditSpoolTests.Record(100);
        second.Enqueue(more);
        await second.FlushAsync().WaitAsync(TimeSpan.FromSeconds(10));
        await second.StopAsync(CancellationToken.None);

        Assert.Empty(down.Received);
        Assert.Equal([.. records.Select(r => r.Id), more.Id], up.Received.Select(r => r.Id));
        Assert.Equal(0, second.Dropped);
    }

    /// <summary>An audit sink whose ship never returns until released, as a call to a cluster that went quiet.</summary>
    private sealed class HangingSink : IAuditSink
    {
        public TaskCompletionSource Called { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task AppendAsync(IReadOnlyList<AuditRecord> records)
        {
            Called.TrySetResult();
            return Release.Task;
        }
    }

    [Fact]
    public async Task A_record_made_while_a_ship_hangs_is_on_disk_without_waiting_for_the_ship()
    {
        var sink = new HangingSink();
        using var shipper = Shipper(sink);
        await shipper.StartAsync(CancellationToken.None);
        shipper.Enqueue(AuditSpoolTests.Record(1));
        await sink.Called.Task.WaitAsync(TimeSpan.FromSeconds(10));

        // A SIGKILL now must not lose the second record: it reaches the spool while the first ship is stuck.
        var second = AuditSpoolTests.Record(2);
        shipper.Enqueue(second);
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (!SpoolText().Contains(second.Id.ToString(), StringComparison.Ordinal))
        {
            Assert.True(waited.Elapsed < TimeSpan.FromSeconds(10), "the record stayed in memory while a ship was in flight");
            await Task.Delay(10);
        }

        sink.Release.SetException(new OrleansException("cluster unreachable"));
        await shipper.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task Records_arriving_while_a_batch_ships_share_one_spool_write()
    {
        var sink = new HangingSink();
        // A linger long enough that the burst below certainly falls inside it, however loaded the machine.
        using var shipper = Shipper(sink, spoolLinger: TimeSpan.FromSeconds(1));
        await shipper.StartAsync(CancellationToken.None);
        shipper.Enqueue(AuditSpoolTests.Record(1));
        await sink.Called.Task.WaitAsync(TimeSpan.FromSeconds(10));
        var before = shipper.SpoolWrites;

        var burst = Enumerable.Range(2, 20).Select(AuditSpoolTests.Record).ToList();
        foreach (var record in burst)
        {
            shipper.Enqueue(record);
        }
        // The counter moves once the write is fsync'd (the file shows the bytes a moment before it does).
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (shipper.SpoolWrites == before)
        {
            Assert.True(waited.Elapsed < TimeSpan.FromSeconds(10), "the burst never reached the spool while the ship hung");
            await Task.Delay(10); // polling a counter the spool thread moves: there is no event to await
        }

        // That one write carried the whole burst.
        Assert.All(burst, r => Assert.Contains(r.Id.ToString(), SpoolText(), StringComparison.Ordinal));
        Assert.Equal(1, shipper.SpoolWrites - before);
        sink.Release.SetException(new OrleansException("cluster unreachable"));
        await shipper.StopAsync(CancellationToken.None);
    }

    /// <summary>Every segment's text, read alongside the shipper (which holds the spool's lock).</summary>
    private string SpoolText() => string.Concat(Directory.EnumerateFiles(_directory, "*.jsonl").Select(path =>
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }));
}
