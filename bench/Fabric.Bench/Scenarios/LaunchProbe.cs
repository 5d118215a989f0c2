using System.Diagnostics;
using Fabric.Bench.Fabric;
using Fabric.Bench.Load;

namespace Fabric.Bench.Scenarios;

/// <summary>
/// Launch to first answer (issue 11 §7): a launched server is registered and an agent's first <c>tools/list</c> through
/// the edge is timed, which includes the edge starting the process (<c>dotnet</c> + the SDK's stdio server) and its
/// answer; the second request, on the running process, is timed for contrast. Each sample is a fresh server.
/// </summary>
internal static class LaunchProbe
{
    public sealed record Result(int Samples, double FirstP50Ms, double FirstMaxMs, double SecondP50Ms);

    public static async Task<Result> RunAsync(FabricHost fabric, Agent agent, string dll, int samples, CancellationToken ct)
    {
        var first = new List<double>();
        var second = new List<double>();
        for (var i = 0; i < samples; i++)
        {
            var name = $"bench-launch-{i}-{Guid.NewGuid().ToString("N")[..6]}";
            await FabricRegistration.RegisterLaunchedAsync(fabric, name, dll, ct);
            var request = BenchRequest.ToolsList("/mcp/" + name);
            foreach (var times in new[] { first, second })
            {
                var started = Stopwatch.GetTimestamp();
                var (status, body) = await agent.SendForTextAsync(request, fabric.EdgeUrl, Targets.Http2, ct);
                times.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                if (status != 200 || !body.Contains("\"echo\"", StringComparison.Ordinal))
                {
                    throw new InvalidOperationException($"launched server {name} answered {status}: {body}");
                }
            }
            await fabric.DeleteAsync($"/v1/servers/{name}", ct);
        }
        return new Result(samples, Percentile(first, 0.5), first.Max(), Percentile(second, 0.5));
    }

    private static double Percentile(List<double> values, double p)
    {
        var sorted = values.Order().ToList();
        return sorted[(int)Math.Min(sorted.Count - 1, Math.Floor(p * sorted.Count))];
    }
}
