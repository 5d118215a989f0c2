using System.Diagnostics;
using Fabric.Edge.Tests.EndToEnd;
using Microsoft.Extensions.DependencyInjection;
using Fabric.Edge.Tests.Fixtures;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;
using Xunit.Abstractions;

namespace Fabric.Edge.Tests.Faults;

/// <summary>
/// Issue 4 §2 and §5 "Revoke a grant while a session is streaming on each of two edges": one Redis,
/// two silos, two edges (separate Orleans clients, names and spools), an agent on each edge speaking a
/// different protocol generation. A policy PUT that returned has reached both edges: the very next
/// message on either is decided under the new state. Also measures PUT → both edges decided (§6).
/// </summary>
[Collection(FaultsCollection.Name)]
public sealed class TwoEdgeRevocationTests(ITestOutputHelper output)
{
    private const int Changes = 200;

    private static object Allow(string server, params string[] tools) => new { server, effect = "allow", tools };

    [Fact]
    public async Task Revoking_a_grant_while_sessions_stream_on_two_edges_denies_the_next_message_on_both()
    {
        await using var two = await TwoEdges.StartAsync("fault", "echo", "progress");
        var (fabric, edgeA, edgeB, server, agent, certificate) = (two.Fabric, two.EdgeA, two.EdgeB, two.Server, two.Agent, two.Certificate);
        Task SetRules(params object[] rules) => two.SetRules(rules);

        await using var onA = await fabric.ConnectAsync(edgeA, server, certificate, ProtocolGeneration.Sessions2025);
        await using var onB = await fabric.ConnectAsync(edgeB, server, certificate, ProtocolGeneration.Stateless2026);
        Assert.NotNull(onA.Client.SessionId);
        await Echo(onA, "before");
        await Echo(onB, "before");

        // A streaming call is in flight on each edge (its progress notifications are arriving) when the grant goes.
        var progressA = new RecordingProgress(expected: 1);
        var progressB = new RecordingProgress(expected: 1);
        var streamingA = onA.Client.CallToolAsync("progress", new Dictionary<string, object?> { ["steps"] = 10 }, progressA).AsTask();
        var streamingB = onB.Client.CallToolAsync("progress", new Dictionary<string, object?> { ["steps"] = 10 }, progressB).AsTask();
        await Task.WhenAll(progressA.All, progressB.All).WaitAsync(TimeSpan.FromSeconds(10));

        await SetRules(Allow(server, "progress"));

        var deniedA = await Assert.ThrowsAsync<McpProtocolException>(() => Echo(onA, "after"));
        var deniedB = await Assert.ThrowsAsync<McpProtocolException>(() => Echo(onB, "after"));
        Assert.Equal(-32003, (int)deniedA.ErrorCode);
        Assert.Equal(-32003, (int)deniedB.ErrorCode);
        Assert.Contains("no-matching-allow", deniedA.Message, StringComparison.Ordinal);
        Assert.Contains("no-matching-allow", deniedB.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(fabric.Upstream.Requests, r => r.Body.Contains("\"after\"", StringComparison.Ordinal));

        // The streams that were already decided run to their end; the sessions stay usable for what is still granted.
        Assert.Equal("done 10", Text(await streamingA.WaitAsync(TimeSpan.FromSeconds(10))));
        Assert.Equal("done 10", Text(await streamingB.WaitAsync(TimeSpan.FromSeconds(10))));
        await SetRules(Allow(server, "echo", "progress"));
        await Echo(onA, "again");
        await Echo(onB, "again");
    }

    [Fact]
    public async Task Removing_a_grant_cuts_the_calls_in_flight_on_both_edges_and_each_edge_audits_its_cut()
    {
        await using var two = await TwoEdges.StartAsync("cut", "echo", "progress");
        var (fabric, edgeA, edgeB, server, agent, certificate) = (two.Fabric, two.EdgeA, two.EdgeB, two.Server, two.Agent, two.Certificate);
        Task SetRules(params object[] rules) => two.SetRules(rules);
        await using var onA = await fabric.ConnectAsync(edgeA, server, certificate, ProtocolGeneration.Sessions2025);
        await using var onB = await fabric.ConnectAsync(edgeB, server, certificate, ProtocolGeneration.Stateless2026);

        // Each edge's own record of the cut, awaited as an event.
        Task<Fabric.Contracts.Audit.AuditRecord> CutOn(Microsoft.AspNetCore.Builder.WebApplication edge)
        {
            var recorded = new TaskCompletionSource<Fabric.Contracts.Audit.AuditRecord>(TaskCreationOptions.RunContinuationsAsynchronously);
            edge.Services.GetRequiredService<Fabric.Edge.Audit.ExchangeAudit>().Recorded += record =>
            {
                if (record.Workload == agent && record.Name == "progress" && record.Reason == Fabric.Contracts.Policy.ReasonCodes.Revoked)
                {
                    recorded.TrySetResult(record);
                }
            };
            return recorded.Task;
        }
        var cutA = CutOn(edgeA);
        var cutB = CutOn(edgeB);

        // 400 steps of 50 ms: 20 s on each edge if nobody cuts them.
        var progressA = new RecordingProgress(expected: 1);
        var progressB = new RecordingProgress(expected: 1);
        var streamingA = onA.Client.CallToolAsync("progress", new Dictionary<string, object?> { ["steps"] = 400 }, progressA).AsTask();
        var streamingB = onB.Client.CallToolAsync("progress", new Dictionary<string, object?> { ["steps"] = 400 }, progressB).AsTask();
        await Task.WhenAll(progressA.All, progressB.All).WaitAsync(TimeSpan.FromSeconds(20));

        await SetRules(Allow(server, "echo"));
        var returned = Stopwatch.StartNew();

        await Assert.ThrowsAnyAsync<Exception>(() => streamingA.WaitAsync(TimeSpan.FromSeconds(10)));
        await Assert.ThrowsAnyAsync<Exception>(() => streamingB.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.True(streamingA.IsFaulted && streamingB.IsFaulted, "a call ran on instead of being cut");
        output.WriteLine($"both calls cut {returned.Elapsed.TotalMilliseconds:0.0} ms after the PUT returned");
        Assert.False((await cutA.WaitAsync(TimeSpan.FromSeconds(10))).Allowed);
        Assert.False((await cutB.WaitAsync(TimeSpan.FromSeconds(10))).Allowed);

        // What is still granted keeps working on both edges.
        await Echo(onA, "after");
        await Echo(onB, "after");
    }

    [Fact]
    public async Task Every_grant_change_is_in_force_on_both_edges_when_the_PUT_returns_measured_over_many_changes()
    {
        await using var two = await TwoEdges.StartAsync("prop", "echo", "add");
        var (fabric, edgeA, edgeB, server, agent, certificate) = (two.Fabric, two.EdgeA, two.EdgeB, two.Server, two.Agent, two.Certificate);
        Task SetRules(params object[] rules) => two.SetRules(rules);
        await using var onA = await fabric.ConnectAsync(edgeA, server, certificate, ProtocolGeneration.Sessions2025);
        await using var onB = await fabric.ConnectAsync(edgeB, server, certificate, ProtocolGeneration.Stateless2026);
        // Warm both paths (connections, caches, JIT) before measuring.
        await Echo(onA, "warm");
        await Echo(onB, "warm");

        var revocations = new List<double>();
        var grants = new List<double>();
        var wrong = new List<string>();
        var allowed = true;
        for (var change = 1; change <= Changes; change++)
        {
            allowed = !allowed;
            var started = Stopwatch.GetTimestamp();
            await SetRules(allowed ? Allow(server, "echo", "add") : Allow(server, "add"));
            var outcomes = await Task.WhenAll(Decide(onA, change), Decide(onB, change));
            var elapsed = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            foreach (var (edge, outcome) in new[] { ("a", outcomes[0]), ("b", outcomes[1]) })
            {
                if (outcome != allowed)
                {
                    wrong.Add($"change {change} ({(allowed ? "grant" : "revoke")}): edge {edge} decided {(outcome ? "allow" : "deny")}");
                }
            }
            (allowed ? grants : revocations).Add(elapsed);
        }

        output.WriteLine($"{Changes} grant changes, 2 silos, 2 edges (2025-11-25 session on one, 2026-07-28 on the other)");
        output.WriteLine($"PUT start → both edges decided under the new state, revocations (n={revocations.Count}): {Summary(revocations)}");
        output.WriteLine($"PUT start → both edges decided under the new state, grants (n={grants.Count}): {Summary(grants)}");
        Assert.True(wrong.Count == 0, string.Join('\n', wrong));
    }

    /// <summary>True when the edge let the call through, false when it denied it (-32003); anything else fails the test.</summary>
    private static async Task<bool> Decide(ConnectedMcpClient agent, int change)
    {
        try
        {
            await Echo(agent, "change-" + change);
            return true;
        }
        catch (McpProtocolException ex) when ((int)ex.ErrorCode == -32003)
        {
            return false;
        }
    }

    private static async Task Echo(ConnectedMcpClient agent, string text)
    {
        var result = await agent.Client.CallToolAsync("echo", new Dictionary<string, object?> { ["text"] = text });
        Assert.Equal(text, Text(result));
    }

    private static string Text(CallToolResult result) => Assert.IsType<TextContentBlock>(Assert.Single(result.Content)).Text;

    private static string Summary(List<double> samples)
    {
        var sorted = samples.Order().ToArray();
        double At(double q) => sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(q * sorted.Length) - 1)];
        return $"median {At(0.5):F2} ms, p99 {At(0.99):F2} ms, max {sorted[^1]:F2} ms";
    }

    /// <summary>One Redis, two silos, two edges, one server and one agent allowed <c>tools</c> on it (the tests' common start).</summary>
    private sealed class TwoEdges(RedisFabric fabric, Microsoft.AspNetCore.Builder.WebApplication edgeA, Microsoft.AspNetCore.Builder.WebApplication edgeB,
        string server, string agent, string policy, System.Security.Cryptography.X509Certificates.X509Certificate2 certificate) : IAsyncDisposable
    {
        public RedisFabric Fabric => fabric;
        public Microsoft.AspNetCore.Builder.WebApplication EdgeA => edgeA;
        public Microsoft.AspNetCore.Builder.WebApplication EdgeB => edgeB;
        public string Server => server;
        public string Agent => agent;
        public System.Security.Cryptography.X509Certificates.X509Certificate2 Certificate => certificate;

        public Task SetRules(params object[] rules) => fabric.PutAsync($"/v1/policies/{policy}", new { subjects = new[] { agent }, rules });

        public static async Task<TwoEdges> StartAsync(string prefix, params string[] tools)
        {
            var fabric = await RedisFabric.StartAsync(silos: 2);
            try
            {
                var edgeA = await fabric.AddEdgeAsync(prefix + "-a");
                var edgeB = await fabric.AddEdgeAsync(prefix + "-b");
                var server = await fabric.AddServerAsync();
                var agent = $"spiffe://{RedisFabric.TrustDomain}/agents/{RedisFabric.Unique("agent")}";
                var policy = RedisFabric.Unique("pol");
                await fabric.PutAsync($"/v1/policies/{policy}", new { subjects = new[] { agent }, rules = new[] { Allow(server, tools) } });
                return new TwoEdges(fabric, edgeA, edgeB, server, agent, policy, await fabric.MintSvidAsync(agent));
            }
            catch
            {
                await fabric.DisposeAsync();
                throw;
            }
        }

        public ValueTask DisposeAsync() => fabric.DisposeAsync();
    }
}
