using System.Diagnostics;
using Fabric.Bench.Fabric;
using Fabric.Bench.Load;

namespace Fabric.Bench.Scenarios;

/// <summary>
/// Revocation latency at every edge. Per sample: grant <c>echo</c> to one agent and wait until each
/// edge allows it (so the allow is cached there); then, at t0, PUT a policy that no longer grants
/// <c>echo</c> while the agent keeps calling every edge, back to back and concurrently; the sample is
/// the time from t0 (the management API call starting) to the first denied answer from the last edge
/// to deny. Every wait is bounded (2 s).
/// </summary>
internal sealed class RevocationProbe(FabricHost fabric, Agent agent, IReadOnlyList<Uri> edges)
{
    private const string Policy = "bench-revocation";
    private static readonly TimeSpan SampleLimit = TimeSpan.FromSeconds(2);

    public async Task<RevocationResult> RunAsync(int samples, TimeSpan budget, CancellationToken ct)
    {
        var call = BenchRequest.ToolsCall(Targets.EdgeRevocationPath, 256);
        var latencies = new List<double>(samples);
        var apiReturned = new List<double>(samples);
        var timeouts = 0;
        var overall = Stopwatch.StartNew();
        for (var i = 0; i < samples && overall.Elapsed < budget; i++)
        {
            await SetGrantAsync(["echo"], ct);
            foreach (var edge in edges)
            {
                if (await UntilAsync(call, edge, Outcome.Ok, ct) is null)
                {
                    throw new InvalidOperationException($"{edge} never allowed the re-granted call");
                }
                // Once more, so the allowed grant is certainly served from the edge's cache.
                await agent.SendAsync(call, edge, Targets.Http2, ct);
            }

            var t0 = Stopwatch.GetTimestamp();
            var put = SetGrantAsync(["add"], ct);
            var denied = await Task.WhenAll(edges.Select(edge => UntilAsync(call, edge, Outcome.RpcError, ct)));
            await put;
            var returned = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
            if (denied.All(at => at is not null))
            {
                latencies.Add(Stopwatch.GetElapsedTime(t0, denied.Max(at => at!.Value)).TotalMilliseconds);
                apiReturned.Add(returned);
            }
            else
            {
                timeouts++;
            }
        }
        return new RevocationResult(edges.Count, latencies, apiReturned, timeouts);
    }

    private Task SetGrantAsync(string[] tools, CancellationToken ct) =>
        fabric.PutAsync($"/v1/policies/{Policy}", new
        {
            subjects = new[] { agent.Svid.SpiffeId },
            rules = new[] { new { server = FabricRegistration.ServerRevocation, effect = "allow", tools } },
        }, ct);

    /// <summary>Calls until the answer is <paramref name="wanted"/>; the timestamp it arrived, or null after <see cref="SampleLimit"/>.</summary>
    private async Task<long?> UntilAsync(BenchRequest call, Uri edge, Outcome wanted, CancellationToken ct)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < SampleLimit)
        {
            var outcome = await agent.SendAsync(call, edge, Targets.Http2, ct);
            // A call cut in flight by the revocation is a refusal as much as a denied one.
            if (outcome == wanted || (wanted == Outcome.RpcError && outcome == Outcome.Cut))
            {
                return Stopwatch.GetTimestamp();
            }
        }
        return null;
    }
}

/// <summary>Samples in ms: until every edge denied, and to the management API's answer (for comparison).</summary>
internal sealed record RevocationResult(int Edges, IReadOnlyList<double> ToDenialMs, IReadOnlyList<double> ApiReturnedMs, int Timeouts);
