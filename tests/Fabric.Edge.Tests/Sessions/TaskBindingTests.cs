using System.Net;
using System.Text.Json;
using Fabric.Contracts.Policy;
using Fabric.Edge.Sessions;
using Fabric.Edge.Tests.EndToEnd;
using Fabric.Edge.Tests.Fixtures;
using Microsoft.AspNetCore.Http;

namespace Fabric.Edge.Tests.Sessions;

/// <summary>
/// Issue 12 §5: tasks belong to the identity that created them. The upstream here speaks the MCP tasks utility by hand
/// (the SDK 2.4.0 has no tasks): a task-augmented tools/call answers a CreateTaskResult, tasks/get|result|cancel name it.
/// Another identity naming that task id, or anyone naming an id the fabric never saw created, is refused 403
/// <c>task-binding-mismatch</c> and nothing reaches the upstream; an upstream that hands out an id bound to someone else
/// never gets it to the agent.
/// </summary>
[Collection(FabricCollection.Name)]
public sealed class TaskBindingTests(FabricFixture fabric)
{
    private string _nextTaskId = "t-" + Guid.NewGuid().ToString("N");

    private async Task Respond(HttpContext context)
    {
        using var request = JsonDocument.Parse(HostileUpstream.BodyOf(context));
        var id = request.RootElement.GetProperty("id").GetRawText();
        var method = request.RootElement.GetProperty("method").GetString();
        var result = method == "tools/call"
            ? $$$"""{"task":{"taskId":"{{{_nextTaskId}}}","status":"working","createdAt":"2026-12-03T10:00:00Z","lastUpdatedAt":"2026-12-03T10:00:00Z","ttl":60000}}"""
            : $$"""{"taskId":"{{request.RootElement.GetProperty("params").GetProperty("taskId").GetString()}}","status":"working","createdAt":"2026-12-03T10:00:00Z","lastUpdatedAt":"2026-12-03T10:00:00Z","ttl":60000}""";
        await HostileUpstream.WriteAsync(context, $$"""{"jsonrpc":"2.0","id":{{id}},"result":{{result}}}""", "application/json");
    }

    private static string TaskCall() => McpClients.StatelessRequest(1, "tools/call", "\"name\":\"echo\",\"arguments\":{\"text\":\"x\"},\"task\":{\"ttl\":60000}");

    private static string TaskRequest(string method, string taskId) => McpClients.StatelessRequest(2, method, $"\"taskId\":\"{taskId}\"");

    private static async Task<(HttpStatusCode Status, JsonElement Body)> PostAsync(HttpClient http, Uri endpoint, string body, string method, string? name = null)
    {
        using var response = await McpClients.PostAsync(http, endpoint, body, McpClients.StatelessHeaders(method, name));
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, JsonDocument.Parse(McpClients.MessageOf(text)).RootElement.Clone());
    }

    /// <summary>The tasks upstream, the agent that creates tasks on it, and another agent allowed on the same server.</summary>
    private sealed record Parties(HostileUpstream Upstream, Scenario Owner, Scenario Other, HttpClient OwnerHttp, HttpClient OtherHttp, Uri Endpoint) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            OwnerHttp.Dispose();
            OtherHttp.Dispose();
            await Upstream.DisposeAsync();
        }
    }

    private async Task<Parties> PartiesAsync()
    {
        var upstream = await HostileUpstream.StartAsync(Respond);
        var owner = await Scenario.CreateAsync(fabric, s => [new { server = s, effect = "allow", tools = new[] { "echo" } }], upstream.Endpoint);
        var other = await Scenario.CreateAsync(fabric, _ => [new { server = owner.Server, effect = "allow", tools = new[] { "echo" } }]);
        return new Parties(upstream, owner, other, fabric.AgentHttpClient(owner.Certificate), fabric.AgentHttpClient(other.Certificate), fabric.McpUrl(owner.Server));
    }

    [Fact]
    public async Task A_task_is_its_creators_and_no_one_elses()
    {
        await using var parties = await PartiesAsync();
        var (upstream, owner, other, ownerHttp, otherHttp, endpoint) = parties;
        var taskId = _nextTaskId;

        var (created, createdBody) = await PostAsync(ownerHttp, endpoint, TaskCall(), "tools/call", "echo");
        Assert.Equal(HttpStatusCode.OK, created);
        Assert.Equal(taskId, createdBody.GetProperty("result").GetProperty("task").GetProperty("taskId").GetString());

        foreach (var method in new[] { "tasks/get", "tasks/cancel", "tasks/update" })
        {
            var (status, body) = await PostAsync(ownerHttp, endpoint, TaskRequest(method, taskId), method);
            Assert.True(status == HttpStatusCode.OK, $"{method}: {body}");
            Assert.Equal(taskId, body.GetProperty("result").GetProperty("taskId").GetString());
        }

        var forwarded = upstream.Requests.Count;
        foreach (var method in new[] { "tasks/get", "tasks/result", "tasks/cancel", "tasks/update" })
        {
            foreach (var (http, id) in new[] { (otherHttp, taskId), (ownerHttp, "t-never-created"), (otherHttp, "t-never-created") })
            {
                var (status, body) = await PostAsync(http, endpoint, TaskRequest(method, id), method);
                Assert.True(status == HttpStatusCode.Forbidden, $"{method} {id}: {status} {body}");
                Assert.Equal(ReasonCodes.TaskBindingMismatch, body.GetProperty("reason").GetString());
            }
        }
        // No taskId at all is refused the same way.
        var (missing, _) = await PostAsync(otherHttp, endpoint, McpClients.StatelessRequest(3, "tasks/get"), "tasks/get");
        Assert.Equal(HttpStatusCode.Forbidden, missing);
        Assert.Equal(forwarded, upstream.Requests.Count);

        var refused = await fabric.AuditAsync($"workload={Uri.EscapeDataString(other.Agent)}&decision=deny&limit=10");
        Assert.Contains(refused, r => r.GetProperty("reason").GetString() == ReasonCodes.TaskBindingMismatch);
    }

    [Fact]
    public async Task An_upstream_handing_out_a_task_id_bound_to_another_identity_never_reaches_the_agent()
    {
        await using var parties = await PartiesAsync();
        var (upstream, owner, other, ownerHttp, otherHttp, endpoint) = parties;

        Assert.Equal(HttpStatusCode.OK, (await PostAsync(ownerHttp, endpoint, TaskCall(), "tools/call", "echo")).Status);
        // The same id again, for another identity: the upstream would hand it the owner's task.
        var (status, body) = await PostAsync(otherHttp, endpoint, TaskCall(), "tools/call", "echo");
        Assert.Equal(HttpStatusCode.BadGateway, status);
        Assert.DoesNotContain(_nextTaskId, body.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"jsonrpc":"2.0","id":1,"result":{"task":{"taskId":"abc","status":"working"}}}""", "abc")]
    [InlineData("event: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{}}\n\nevent: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"task\":{\"taskId\":\"sse\"}}}\n\n", "sse")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"{\"task\":{\"taskId\":\"fake\"}}"}]}}""", null)]
    [InlineData("""{"jsonrpc":"2.0","id":1,"result":{"task":{"taskId":7}}}""", null)]
    [InlineData("""{"jsonrpc":"2.0","id":1,"error":{"code":-32000,"message":"no"}}""", null)]
    [InlineData("not json", null)]
    public void The_created_task_id_is_read_only_where_the_protocol_puts_it(string answer, string? expected) =>
        Assert.Equal(expected, TaskOwnership.CreatedTaskIdOf(System.Text.Encoding.UTF8.GetBytes(answer)));
}
