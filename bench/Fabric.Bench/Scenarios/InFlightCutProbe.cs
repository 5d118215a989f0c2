using System.Diagnostics;
using Fabric.Bench.Fabric;
using Fabric.Bench.Load;

namespace Fabric.Bench.Scenarios;

/// <summary>
/// Revocation of work in flight (issue 12 §5: "cut within 100 ms of the revocation call returning"). Per sample: grant
/// <c>echo</c> on a server whose tool call streams until cut, open the call and read its first event (it is live at the
/// edge), then PUT a policy without <c>echo</c> and time until the agent's stream ends, from the management API call's
/// return. Every wait is bounded (2 s); a stream still open then is a timeout.
/// </summary>
internal sealed class InFlightCutProbe(FabricHost fabric, Agent agent, Uri edge)
{
    private const string Policy = "bench-inflight";
    private static readonly TimeSpan SampleLimit = TimeSpan.FromSeconds(2);

    public async Task<InFlightCutResult> RunAsync(int samples, CancellationToken ct)
    {
        var call = BenchRequest.ToolsCall("/mcp/" + FabricRegistration.ServerStream, 64);
        var afterReturn = new List<double>(samples);
        var timeouts = 0;
        var buffer = new byte[4096];
        for (var i = 0; i < samples; i++)
        {
            await SetGrantAsync(["echo"], ct);
            var (response, body) = await OpenLiveAsync(call, buffer, ct);
            using (response)
            await using (body)
            {
                await SetGrantAsync(["add"], ct);
                var returned = Stopwatch.GetTimestamp();
                using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
                limit.CancelAfter(SampleLimit);
                try
                {
                    while (await body.ReadAsync(buffer, limit.Token) > 0)
                    {
                    }
                    afterReturn.Add(Math.Max(0, Stopwatch.GetElapsedTime(returned).TotalMilliseconds));
                }
                catch (OperationCanceledException) when (!ct.IsCancellationRequested)
                {
                    timeouts++;
                }
                catch (Exception ex) when (ex is HttpRequestException or IOException)
                {
                    // A reset stream is a cut too.
                    afterReturn.Add(Math.Max(0, Stopwatch.GetElapsedTime(returned).TotalMilliseconds));
                }
            }
        }
        return new InFlightCutResult(afterReturn, timeouts);
    }

    /// <summary>Opens the call until the edge lets it stream (the re-grant may take a moment to reach it) and reads its first bytes.</summary>
    private async Task<(HttpResponseMessage Response, Stream Body)> OpenLiveAsync(BenchRequest call, byte[] buffer, CancellationToken ct)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var response = await agent.OpenAsync(call, edge, ct);
            var body = await response.Content.ReadAsStreamAsync(ct);
            if (response.IsSuccessStatusCode && response.Content.Headers.ContentType?.MediaType == "text/event-stream"
                && await body.ReadAsync(buffer, ct) > 0)
            {
                return (response, body);
            }
            await body.DisposeAsync();
            response.Dispose();
            if (deadline.Elapsed > SampleLimit)
            {
                throw new InvalidOperationException("the edge never let the re-granted streaming call through");
            }
        }
    }

    private Task SetGrantAsync(string[] tools, CancellationToken ct) =>
        fabric.PutAsync($"/v1/policies/{Policy}", new
        {
            subjects = new[] { agent.Svid.SpiffeId },
            rules = new[] { new { server = FabricRegistration.ServerStream, effect = "allow", tools } },
        }, ct);
}

/// <summary>Milliseconds from the revoking API call's return to the end of the agent's stream; streams never cut within 2 s.</summary>
internal sealed record InFlightCutResult(IReadOnlyList<double> AfterReturnMs, int Timeouts);
