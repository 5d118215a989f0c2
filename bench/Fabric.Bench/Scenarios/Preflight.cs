using Fabric.Bench.Load;

namespace Fabric.Bench.Scenarios;

/// <summary>
/// One request to every target before any load: a broken path must fail loudly, not be measured as a
/// fast stream of errors. The fabric, direct and YARP must answer; a failing nginx is dropped (false).
/// </summary>
internal static class Preflight
{
    public static async Task<bool> CheckAsync(Targets targets, Agent agent, CancellationToken ct)
    {
        await ExpectAsync("direct", targets.Direct, Targets.PlainPath, agent, ct);
        await ExpectAsync("yarp", targets.Yarp, Targets.PlainPath, agent, ct);
        await ExpectAsync("fabric", targets.Edge, Targets.EdgePath, agent, ct);
        await ExpectAsync("fabric (no splicing)", targets.Edge, Targets.EdgeNoSplicePath, agent, ct);
        await ExpectAsync("fabric (sse)", targets.Edge, Targets.EdgeSsePath, agent, ct);
        if (targets.Nginx is not { } nginx)
        {
            return true;
        }
        try
        {
            await ExpectAsync("nginx", nginx, Targets.PlainPath, agent, ct);
            return true;
        }
        catch (Exception ex) when (ex is InvalidOperationException or HttpRequestException)
        {
            Console.Error.WriteLine("nginx preflight failed: " + ex.Message);
            return false;
        }
    }

    private static async Task ExpectAsync(string name, Uri baseUrl, string path, Agent agent, CancellationToken ct)
    {
        foreach (var version in new[] { Targets.Http2, Targets.Http11 })
        {
            var (status, body) = await agent.SendForTextAsync(BenchRequest.ToolsCall(path, 1024), baseUrl, version, ct);
            if (status != 200 || !body.Contains("\"result\"", StringComparison.Ordinal))
            {
                throw new InvalidOperationException($"preflight {name} HTTP/{version}: {status} {body}");
            }
        }
    }
}
