using System.Diagnostics;
using System.Text.Json;
using Fabric.Contracts.Identity;
using Fabric.Edge.Audit;
using Fabric.Edge.Tests.Fixtures;
using ModelContextProtocol.Protocol;
using Xunit.Abstractions;

namespace Fabric.Edge.Tests.Faults;

/// <summary>
/// Issue 4 §5 "Kill an edge mid-session and start a new one": Redis, a silo, and an edge as a real process
/// (<see cref="EdgeProcess"/>). While the audit store is unreachable (redis-server stopped, so every batch
/// the edge ships fails and its records wait in its on-disk spool), an agent makes calls through the edge;
/// then the edge is killed with SIGKILL with the agent's MCP client still open. A new edge process is
/// started on the same port and the same spool directory: the agent's client carries on through it, and
/// every record the dead edge had spooled reaches the audit log exactly once (shipped by the new edge),
/// as do the new edge's own records.
/// </summary>
[Collection(FaultsCollection.Name)]
public sealed class EdgeKillTests(ITestOutputHelper output)
{
    private const int CallsBeforeKill = 20;
    private const int CallsAfterRestart = 10;
    private static readonly TimeSpan AuditDeadline = TimeSpan.FromSeconds(30);

    /// <summary>How long after its answer a call's record may still be only in the edge's memory.</summary>
    private static readonly TimeSpan OnDiskBound = TimeSpan.FromSeconds(2);

    /// <remarks>
    /// This test found a bug, fixed: while a batch was being shipped (or the shipper was backing off) new
    /// records waited in memory, so with the audit store away they reached the disk only when the ship
    /// failed, 5 s later (the Redis client's timeout; up to the Orleans response timeout in general), and
    /// a SIGKILL in that window lost them. The shipper now spools arriving records while it waits.
    /// </remarks>
    [Fact]
    public async Task Audit_spooled_by_an_edge_killed_mid_session_is_shipped_exactly_once_by_its_replacement()
    {
        var elapsed = Stopwatch.StartNew();
        await using var fabric = await RedisFabric.StartAsync(silos: 1);
        var server = await fabric.AddServerAsync();
        var agent = $"spiffe://{RedisFabric.TrustDomain}/agents/{RedisFabric.Unique("agent")}";
        await fabric.PutAsync($"/v1/policies/{RedisFabric.Unique("pol")}", new { subjects = new[] { agent }, rules = new[] { new { server, effect = "allow", tools = new[] { "echo", "add" } } } });
        var certificate = await fabric.MintSvidAsync(agent);

        // Both edge processes serve the same address and share one spool, as a restarted edge would.
        var port = FreePort.Next();
        var spool = Path.Combine(fabric.Directory, "edge-spool");
        await using var edgeA = await EdgeProcess.StartAsync([.. fabric.ClusterArguments, .. await EdgeJoinArguments.ForAsync(fabric.Admin, "killed-edge")], "killed-edge", port, spool, Path.Combine(fabric.Directory, "edge-a"), certificate, fabric.Bundle);
        await using var onEdge = await McpClients.ConnectAsync(edgeA.McpUrl(server), ProtocolGeneration.Stateless2026, certificate, (_, c, _, _) => CustomRootTrust.Chains(c, fabric.Bundle));
        output.WriteLine($"{elapsed.Elapsed.TotalSeconds:F1} s: edge A (pid {edgeA.ProcessId}) up, agent connected");

        // Warm up: the grant and the credential are cached on A, and A's shipping works end to end.
        await Call(onEdge, "add");
        await WaitForAuditAsync(fabric, agent, records => records.Any(r => r.Edge == edgeA.Name && r.Name == "add"), "A's warm-up record");

        // The audit store goes away: A decides from its caches, but every batch it ships fails.
        await fabric.Redis.StopAsync();
        HashSet<Guid> left;
        try
        {
            for (var i = 0; i < CallsBeforeKill; i++)
            {
                await Call(onEdge, "echo", "a-" + i);
            }
            var answered = Stopwatch.StartNew();
            // A answers a call a moment before it writes the call's record: every record must be on A's
            // disk moments later, not only once the failing ship in flight gives up.
            await WaitAsync(() => SpooledEchoIds(spool).Count == CallsBeforeKill, "A's records in its spool", OnDiskBound);
            output.WriteLine($"{elapsed.Elapsed.TotalSeconds:F1} s: {CallsBeforeKill} calls answered by A, on disk {answered.ElapsedMilliseconds} ms after the last answer");

            edgeA.Kill();
            output.WriteLine($"{elapsed.Elapsed.TotalSeconds:F1} s: edge A killed (SIGKILL) with the agent's session open");

            // What the dead edge left unacknowledged, read as its successor will (the spool lock died with A).
            using (var deadSpool = new AuditSpool(spool, long.MaxValue))
            {
                var (pending, _) = deadSpool.Read(int.MaxValue);
                left = [.. pending.Where(r => r.Edge == edgeA.Name && r.Name == "echo").Select(r => r.Id)];
            }
            Assert.Equal(CallsBeforeKill, left.Count);
        }
        finally
        {
            await fabric.Redis.StartAgainAsync();
        }
        await using var edgeB = await EdgeProcess.StartAsync([.. fabric.ClusterArguments, .. await EdgeJoinArguments.ForAsync(fabric.Admin, "replacement-edge")], "replacement-edge", port, spool, Path.Combine(fabric.Directory, "edge-b"), certificate, fabric.Bundle);
        output.WriteLine($"{elapsed.Elapsed.TotalSeconds:F1} s: Redis back, edge B (pid {edgeB.ProcessId}) up on the same port and spool");

        // The agent's client carries on through the new edge (stateless 2026-07-28: no session to re-establish).
        for (var i = 0; i < CallsAfterRestart; i++)
        {
            await Call(onEdge, "echo", "b-" + i);
        }

        var records = await WaitForAuditAsync(
            fabric, agent,
            all => all.Count(r => r.Name == "echo" && r.Edge == edgeA.Name) >= CallsBeforeKill && all.Count(r => r.Name == "echo" && r.Edge == edgeB.Name) >= CallsAfterRestart,
            "A's spooled and B's own records",
            edgeB);
        output.WriteLine($"{elapsed.Elapsed.TotalSeconds:F1} s: audit log complete");
        output.WriteLine(string.Join('\n', edgeB.Output.Split('\n').Where(l => l.Contains("earlier edge process", StringComparison.Ordinal))));

        Assert.Equal(records.Count, records.Select(r => r.Id).Distinct().Count());
        var fromA = records.Where(r => r.Name == "echo" && r.Edge == edgeA.Name).Select(r => r.Id).ToHashSet();
        Assert.Equal(CallsBeforeKill, fromA.Count);
        Assert.True(left.SetEquals(fromA), "the audit log's records from A are not the ones A left in its spool");
        Assert.Equal(CallsAfterRestart, records.Count(r => r.Name == "echo" && r.Edge == edgeB.Name));
        Assert.Single(records, r => r.Name == "add");
    }

    private sealed record Audited(Guid Id, string Edge, string? Name);

    private static async Task Call(ConnectedMcpClient agent, string tool, string text = "")
    {
        if (tool == "add")
        {
            var sum = await agent.Client.CallToolAsync("add", new Dictionary<string, object?> { ["a"] = 1, ["b"] = 2 });
            Assert.Equal("3", Assert.IsType<TextContentBlock>(Assert.Single(sum.Content)).Text);
            return;
        }
        var result = await agent.Client.CallToolAsync(tool, new Dictionary<string, object?> { ["text"] = text });
        Assert.Equal(text, Assert.IsType<TextContentBlock>(Assert.Single(result.Content)).Text);
    }

    /// <summary>The ids of the echo records in the spool's complete lines, shipped or not (read without the spool's lock).</summary>
    private static HashSet<Guid> SpooledEchoIds(string spool)
    {
        var ids = new HashSet<Guid>();
        foreach (var segment in Directory.EnumerateFiles(spool, "*.jsonl"))
        {
            string text;
            try
            {
                using var stream = new FileStream(segment, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                using var reader = new StreamReader(stream);
                text = reader.ReadToEnd();
            }
            catch (FileNotFoundException)
            {
                continue; // shipped and deleted meanwhile
            }
            foreach (var line in text.Split('\n').SkipLast(1)) // the part after the last '\n' may be torn
            {
                using var record = JsonDocument.Parse(line);
                if (record.RootElement.GetProperty("name").GetString() == "echo")
                {
                    ids.Add(record.RootElement.GetProperty("id").GetGuid());
                }
            }
        }
        return ids;
    }

    private static async Task WaitAsync(Func<bool> condition, string what, TimeSpan deadline)
    {
        var waited = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(waited.Elapsed < deadline, $"timed out after {deadline.TotalSeconds} s waiting for {what}");
            await Task.Delay(20);
        }
    }

    /// <summary>Polls <c>GET /v1/audit</c> (every page) for the agent's records until <paramref name="done"/> holds, bounded.</summary>
    private static async Task<List<Audited>> WaitForAuditAsync(RedisFabric fabric, string agent, Func<List<Audited>, bool> done, string what, EdgeProcess? edge = null)
    {
        var waited = Stopwatch.StartNew();
        while (true)
        {
            var records = await ReadAuditAsync(fabric.Admin, agent);
            if (done(records))
            {
                return records;
            }
            Assert.True(waited.Elapsed < AuditDeadline,
                $"timed out after {AuditDeadline.TotalSeconds} s waiting for {what}; have {records.Count}: "
                + string.Join(", ", records.GroupBy(r => (r.Edge, r.Name)).Select(g => $"{g.Key.Edge}/{g.Key.Name} × {g.Count()}"))
                + (edge is null ? "" : "\nedge output:\n" + edge.Output));
            await Task.Delay(100);
        }
    }

    private static async Task<List<Audited>> ReadAuditAsync(HttpClient admin, string agent)
    {
        var records = new List<Audited>();
        string? cursor = null;
        do
        {
            var query = $"/v1/audit?workload={Uri.EscapeDataString(agent)}&limit=1000" + (cursor is null ? "" : "&cursor=" + cursor);
            using var page = JsonDocument.Parse(await admin.GetStringAsync(query));
            records.AddRange(page.RootElement.GetProperty("records").EnumerateArray().Select(r => new Audited(
                r.GetProperty("id").GetGuid(),
                r.GetProperty("edge").GetString()!,
                r.TryGetProperty("name", out var name) ? name.GetString() : null)));
            cursor = page.RootElement.TryGetProperty("nextCursor", out var next) && next.ValueKind == JsonValueKind.String ? next.GetString() : null;
        }
        while (cursor is not null);
        return records;
    }
}
