using Fabric.Contracts.Audit;
using Fabric.Silo.Audit;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Fabric.Silo.Tests.Audit;

/// <summary>A real redis-server for the audit store tests (one per class).</summary>
public sealed class AuditRedisFixture : IAsyncLifetime
{
    public RedisServer Redis { get; private set; } = null!;
    public ConnectionMultiplexer Connection { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Redis = await RedisServer.StartAsync("--appendonly", "yes", "--appendfsync", "always");
        Connection = await ConnectionMultiplexer.ConnectAsync(Redis.ConnectionString + ",abortConnect=false");
    }

    public async Task DisposeAsync()
    {
        await Connection.DisposeAsync();
        await Redis.DisposeAsync();
    }
}

/// <summary>Both audit stores honour the same contract: idempotent by id, newest first, filters, paging, a bound.</summary>
public sealed class AuditStoreTests(AuditRedisFixture fixture) : IClassFixture<AuditRedisFixture>
{
    public static TheoryData<string> Stores => ["memory", "redis"];

    private IAuditStore Store(string kind, int capacity = 10_000)
    {
        var options = Options.Create(new AuditOptions { Capacity = capacity, StreamKey = "audit-" + Guid.NewGuid().ToString("N") });
        return kind == "memory" ? new MemoryAuditStore(options) : new RedisAuditStore(fixture.Connection, options);
    }

    private static AuditRecord Record(int n, string workload = "spiffe://fabric.local/agents/a") => new()
    {
        Id = Guid.NewGuid(),
        Time = DateTimeOffset.UnixEpoch.AddSeconds(n),
        Edge = "edge-1",
        Workload = workload,
        Server = n % 3 == 0 ? "github" : "files",
        Method = "tools/call",
        Name = "tool-" + n,
        Allowed = n % 2 == 0,
        Reason = n % 2 == 0 ? "allowed" : "explicit-deny",
        LeaseId = "local:files/1",
    };

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task A_replayed_batch_is_written_once(string kind)
    {
        var store = Store(kind);
        var batch = Enumerable.Range(0, 5).Select(n => Record(n)).ToList();

        var first = await store.AppendAsync(batch);
        var replay = await store.AppendAsync([.. batch, Record(5)]);
        var page = await store.QueryAsync(new AuditQuery(null, null, null, 100));

        Assert.Equal(5, first.Count);
        Assert.Equal("tool-5", Assert.Single(replay).Name);
        Assert.Equal(6, page.Records.Count);
        Assert.Equal(batch[0], page.Records[^1]);
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task Pages_run_newest_first_and_filters_apply_across_pages(string kind)
    {
        var store = Store(kind);
        await store.AppendAsync([.. Enumerable.Range(0, 30).Select(n => Record(n, n % 5 == 0 ? "spiffe://fabric.local/agents/b" : "spiffe://fabric.local/agents/a"))]);

        var names = new List<string?>();
        string? cursor = null;
        do
        {
            var page = await store.QueryAsync(new AuditQuery("spiffe://fabric.local/agents/a", null, false, 4, cursor));
            names.AddRange(page.Records.Select(r => r.Name));
            cursor = page.NextCursor;
        }
        while (cursor is not null);

        var expected = Enumerable.Range(0, 30).Reverse().Where(n => n % 5 != 0 && n % 2 == 1).Select(n => "tool-" + n);
        Assert.Equal(expected, names);
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task A_workload_query_nests_each_calls_egress_children_older_or_newer_and_replays_add_none(string kind)
    {
        var store = Store(kind);
        var early = Record(0) with { Kind = "egress", Workload = "spiffe://fabric.local/mcp/gh", Server = "github" };
        var call = Record(1);
        var other = Record(2);
        // A child that reached the log before its parent (edges ship independently), one after, one of another call.
        early = early with { ParentRecordId = call.Id };
        var late = Record(3) with { Kind = "egress", Workload = "spiffe://fabric.local/mcp/gh", Server = "github", ParentRecordId = call.Id };
        var foreign = Record(4) with { Kind = "egress", Workload = "spiffe://fabric.local/mcp/gh", Server = "github", ParentRecordId = Guid.NewGuid() };
        await store.AppendAsync([early]);
        await store.AppendAsync([call, other]);
        await store.AppendAsync([late, foreign]);
        await store.AppendAsync([late, early]); // a replay

        var page = await store.QueryAsync(new AuditQuery("spiffe://fabric.local/agents/a", null, null, 100, WithChildren: true));

        Assert.Equal([other.Id, call.Id], page.Records.Select(r => r.Id));
        var children = Assert.Single(page.Children!);
        Assert.Equal(call.Id, children.Key);
        Assert.Equal([early.Id, late.Id], children.Value.Select(c => c.Id));
        Assert.Null((await store.QueryAsync(new AuditQuery("spiffe://fabric.local/agents/a", null, null, 100))).Children);
    }

    [Fact]
    public async Task Altering_or_deleting_one_record_in_redis_is_detected_and_located()
    {
        var key = "audit-" + Guid.NewGuid().ToString("N");
        var store = new RedisAuditStore(fixture.Connection, Options.Create(new AuditOptions { StreamKey = key }));
        var chain = new List<AuditRecord>();
        string? previous = null;
        for (var i = 1; i <= 6; i++)
        {
            var linked = AuditChain.Link(Record(i) with { Edge = "e7" }, i, previous);
            chain.Add(linked);
            previous = linked.Hash;
        }
        await store.AppendAsync(chain);
        AuditChain.Report VerifyStored() => AuditChain.Verify("e7",
            store.QueryAsync(new AuditQuery(null, null, null, 1000, Edge: "e7")).GetAwaiter().GetResult().Records, (_, _) => false);
        Assert.True(VerifyStored().Intact);

        var database = fixture.Connection.GetDatabase();
        var entries = await database.StreamRangeAsync(key);
        // Altered in place (an entry replaced by a doctored copy): located at its sequence.
        var third = entries[2];
        var doctored = ((string)third.Values.Single(v => v.Name == "record").Value!).Replace("\"allowed\":false", "\"allowed\":true", StringComparison.Ordinal);
        await database.StreamDeleteAsync(key, [third.Id]);
        await database.StreamAddAsync(key, "record", doctored);
        var altered = VerifyStored();
        Assert.Equal(3, altered.FirstBreak!.Sequence);
        Assert.StartsWith("altered", altered.FirstBreak.Reason, StringComparison.Ordinal);

        // Deleted: the gap is located.
        await database.StreamDeleteAsync(key, [entries[4].Id]);
        var all = (await store.QueryAsync(new AuditQuery(null, null, null, 1000, Edge: "e7"))).Records;
        var withoutThird = all.Where(r => r.Sequence != 3).Append(chain[2]).ToList();
        var missing = AuditChain.Verify("e7", withoutThird, (_, _) => false);
        Assert.Equal(5, missing.FirstBreak!.Sequence);
        Assert.StartsWith("missing", missing.FirstBreak.Reason, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task The_log_is_bounded(string kind)
    {
        var store = Store(kind, capacity: 100);
        foreach (var chunk in Enumerable.Range(0, 1000).Chunk(100))
        {
            await store.AppendAsync([.. chunk.Select(n => Record(n))]);
        }

        var page = await store.QueryAsync(new AuditQuery(null, null, null, 1000));

        // Redis trims with MAXLEN ~ (whole macro nodes), so it may keep somewhat more than asked.
        Assert.InRange(page.Records.Count, 100, 300);
        Assert.Equal("tool-999", page.Records[0].Name);
    }

    [Fact]
    public async Task Redis_keeps_every_acknowledged_record_across_a_restart()
    {
        var options = Options.Create(new AuditOptions { StreamKey = "audit-restart-" + Guid.NewGuid().ToString("N") });
        var store = new RedisAuditStore(fixture.Connection, options);
        var written = Enumerable.Range(0, 200).Select(n => Record(n)).ToList();
        foreach (var chunk in written.Chunk(50))
        {
            await store.AppendAsync(chunk);
        }

        await fixture.Redis.StopAsync();
        await fixture.Redis.StartAgainAsync();
        await fixture.Connection.GetDatabase().PingAsync();
        var read = new List<AuditRecord>();
        string? cursor = null;
        do
        {
            var page = await store.QueryAsync(new AuditQuery(null, null, null, 64, cursor));
            read.AddRange(page.Records);
            cursor = page.NextCursor;
        }
        while (cursor is not null);

        Assert.Equal(written.Select(r => r.Id).Reverse(), read.Select(r => r.Id));
    }
}
