using System.Text.Json;
using Fabric.Contracts.Servers;
using Fabric.Edge.Tests.Fixtures;
using Microsoft.Extensions.DependencyInjection;

namespace Fabric.Edge.Tests.Policy;

/// <summary>Raw 2026-07-28 calls to a locked server through the edge, and the lock's report event to await.</summary>
internal static class LockedServerCalls
{
    public static async Task<JsonElement> PostAsync(HttpClient http, Uri endpoint, string method, string members, string? name = null)
    {
        using var response = await McpClients.PostAsync(http, endpoint, McpClients.StatelessRequest(1, method, members), McpClients.StatelessHeaders(method, name));
        return JsonDocument.Parse(McpClients.MessageOf(await response.Content.ReadAsStringAsync())).RootElement.Clone();
    }

    /// <summary>The tool's text, or the refusal's <c>data.reason</c>.</summary>
    public static async Task<string> CallAsync(HttpClient http, Uri endpoint, string tool)
    {
        var answer = await PostAsync(http, endpoint, "tools/call", $"\"name\":\"{tool}\",\"arguments\":{{}}", tool);
        return answer.TryGetProperty("error", out var error)
            ? error.GetProperty("data").GetProperty("reason").GetString()!
            : answer.GetProperty("result").GetProperty("content")[0].GetProperty("text").GetString()!;
    }

    /// <summary>Completes when the edge next reports one of <paramref name="server"/>'s lists to its lock (after the agent had the answer).</summary>
    public static Task ReportedAsync(FabricFixture fabric, string server)
    {
        var locks = fabric.EdgeApp.Services.GetRequiredService<Fabric.Edge.Policy.ToolLocks>();
        var reported = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnReported(string reportedServer, LockedList _)
        {
            if (reportedServer == server)
            {
                locks.Reported -= OnReported;
                reported.TrySetResult();
            }
        }
        locks.Reported += OnReported;
        return reported.Task.WaitAsync(TimeSpan.FromSeconds(30));
    }
}
