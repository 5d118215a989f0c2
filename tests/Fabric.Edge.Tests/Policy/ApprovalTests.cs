using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Fabric.Contracts.Policy;
using Fabric.Edge.Tests.EndToEnd;
using Fabric.Edge.Tests.Fixtures;
using ModelContextProtocol;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace Fabric.Edge.Tests.Policy;

/// <summary>
/// Issue 12 §3: approvals a client cannot forge. A rule's <c>when.approval: required</c> holds a tool call until an
/// admin approves that exact call (identity, server, tool, arguments); the approval lets it through once. Whatever the
/// agent sends back (an elicitation "accept", a requestState naming another approval) approves nothing.
/// </summary>
[Collection(FabricCollection.Name)]
public sealed class ApprovalTests(FabricFixture fabric)
{
    private static object Gated(string server) => new { server, effect = "allow", tools = new[] { "echo" }, when = new { approval = "required" } };

    private static string EchoCall(string text, string extraParams = "") =>
        McpClients.StatelessRequest(1, "tools/call", $"\"name\":\"echo\",\"arguments\":{{\"text\":\"{text}\"}}{extraParams}");

    /// <summary>One raw 2026-07-28 echo call: the parsed answer.</summary>
    private static async Task<JsonElement> CallAsync(HttpClient http, Uri endpoint, string body)
    {
        using var response = await McpClients.PostAsync(http, endpoint, body, McpClients.StatelessHeaders("tools/call", "echo"));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        using var json = JsonDocument.Parse(McpClients.MessageOf(text));
        return json.RootElement.Clone();
    }

    private static string? ApprovalIdOf(JsonElement answer) =>
        answer.TryGetProperty("result", out var result) && result.TryGetProperty("resultType", out var type) && type.GetString() == "input_required"
            ? result.GetProperty("_meta").GetProperty("io.fabric/approval").GetProperty("id").GetString()
            : null;

    private async Task<JsonElement> DecideAsync(string id, string verb, HttpStatusCode expected = HttpStatusCode.OK)
    {
        using var response = await fabric.Admin.PostAsync($"/v1/approvals/{id}:{verb}", null);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == expected, $"{(int)response.StatusCode} {body}");
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    private async Task<JsonElement[]> PendingAsync(string agent)
    {
        using var json = JsonDocument.Parse(await fabric.Admin.GetStringAsync("/v1/approvals?state=pending"));
        return [.. json.RootElement.GetProperty("approvals").EnumerateArray().Where(a => a.GetProperty("workload").GetString() == agent).Select(a => a.Clone())];
    }

    private int UpstreamCalls(string token) => fabric.Upstream.Requests.Count(r => r.Body.Contains(token, StringComparison.Ordinal));

    [Fact]
    public async Task A_gated_call_waits_for_an_admin_and_is_forwarded_once_for_exactly_its_arguments()
    {
        var scenario = await Scenario.CreateAsync(fabric, server => [Gated(server), new { server, effect = "allow", tools = new[] { "add" } }]);
        using var http = fabric.AgentHttpClient(scenario.Certificate);
        var endpoint = fabric.McpUrl(scenario.Server);
        var token = "apr-" + Guid.NewGuid().ToString("N")[..8];

        // 1. Held: an input_required result naming the approval; the server never sees the call.
        var first = await CallAsync(http, endpoint, EchoCall(token));
        var id = ApprovalIdOf(first);
        Assert.NotNull(id);
        Assert.Matches("^apr_[a-z2-7]{26}$", id);
        Assert.Equal("fabric-approval." + id, first.GetProperty("result").GetProperty("requestState").GetString());
        Assert.Equal(0, UpstreamCalls(token));

        // The request is bound to the identity, server, tool and the digest of the canonical arguments.
        var pending = Assert.Single(await PendingAsync(scenario.Agent));
        Assert.Equal(id, pending.GetProperty("id").GetString());
        Assert.Equal(scenario.Server, pending.GetProperty("server").GetString());
        Assert.Equal("echo", pending.GetProperty("tool").GetString());
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{{\"text\":\"{token}\"}}"))), pending.GetProperty("argumentsSha256").GetString());
        // Asking again is the same request, not a new one; another tool of another rule is not gated.
        Assert.Equal(id, ApprovalIdOf(await CallAsync(http, endpoint, EchoCall(token))));
        Assert.Single(await PendingAsync(scenario.Agent));

        // 2. Approved: the same call goes through once, without the fabric's round state.
        Assert.Equal("approved", (await DecideAsync(id!, "approve")).GetProperty("state").GetString());
        var forwarded = await CallAsync(http, endpoint, EchoCall(token, $",\"requestState\":\"fabric-approval.{id}\""));
        Assert.Equal(token, forwarded.GetProperty("result").GetProperty("content")[0].GetProperty("text").GetString());
        var seen = Assert.Single(fabric.Upstream.Requests, r => r.Body.Contains(token, StringComparison.Ordinal));
        Assert.DoesNotContain("requestState", seen.Body, StringComparison.Ordinal);

        // 3. Consumed: the next identical call needs a new approval; so does any other argument.
        var again = ApprovalIdOf(await CallAsync(http, endpoint, EchoCall(token)));
        Assert.NotNull(again);
        Assert.NotEqual(id, again);
        Assert.NotNull(ApprovalIdOf(await CallAsync(http, endpoint, EchoCall(token + "-other"))));
        Assert.Equal(1, UpstreamCalls(token));
        Assert.Equal("consumed", JsonDocument.Parse(await fabric.Admin.GetStringAsync($"/v1/approvals/{id}")).RootElement.GetProperty("state").GetString());

        // The forwarded call's audit record names the approval that let it through.
        var records = await fabric.AuditAsync($"workload={Uri.EscapeDataString(scenario.Agent)}&decision=allow&limit=10");
        Assert.Contains(records, r => r.TryGetProperty("approvalId", out var a) && a.GetString() == id);
        // A decided request cannot be decided again.
        Assert.Equal("approval-not-pending", (await DecideAsync(id!, "deny", HttpStatusCode.Conflict)).GetProperty("reason").GetString());
    }

    [Fact]
    public async Task A_2025_client_gets_a_json_rpc_error_naming_the_approval_and_a_denial_sticks()
    {
        var scenario = await Scenario.CreateAsync(fabric, server => [Gated(server)]);
        await using var connected = await scenario.ConnectAsync(ProtocolGeneration.Sessions2025);
        var token = "deny-" + Guid.NewGuid().ToString("N")[..8];

        var held = await Assert.ThrowsAnyAsync<McpException>(async () => await connected.Client.CallToolAsync("echo", new Dictionary<string, object?> { ["text"] = token }));
        Assert.Contains(ReasonCodes.ApprovalRequired, held.Message, StringComparison.Ordinal);
        var id = Assert.Single(await PendingAsync(scenario.Agent)).GetProperty("id").GetString()!;

        Assert.Equal("denied", (await DecideAsync(id, "deny")).GetProperty("state").GetString());
        var denied = await Assert.ThrowsAnyAsync<McpException>(async () => await connected.Client.CallToolAsync("echo", new Dictionary<string, object?> { ["text"] = token }));
        Assert.Contains(ReasonCodes.ApprovalDenied, denied.Message, StringComparison.Ordinal);
        Assert.Equal(0, UpstreamCalls(token));

        var records = await fabric.AuditAsync($"workload={Uri.EscapeDataString(scenario.Agent)}&decision=deny&limit=20");
        Assert.Contains(records, r => r.TryGetProperty("kind", out var kind) && kind.GetString() == "approval-denied" && r.GetProperty("approvalId").GetString() == id);
        Assert.Contains(records, r => r.GetProperty("reason").GetString() == ReasonCodes.ApprovalDenied && r.TryGetProperty("approvalId", out var a) && a.GetString() == id);
    }

    [Fact]
    public async Task The_raw_2025_denial_carries_data_approval_id()
    {
        var scenario = await Scenario.CreateAsync(fabric, server => [Gated(server)]);
        using var http = fabric.AgentHttpClient(scenario.Certificate);
        var endpoint = fabric.McpUrl(scenario.Server);
        var session = await McpClients.InitializeSessionAsync(http, endpoint);
        using var response = await McpClients.PostAsync(http, endpoint,
            """{"jsonrpc":"2.0","id":"x7","method":"tools/call","params":{"name":"echo","arguments":{"text":"t"}}}""", McpClients.SessionHeaders(session));
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var error = json.RootElement.GetProperty("error");
        Assert.Equal("x7", json.RootElement.GetProperty("id").GetString());
        Assert.Equal(-32003, error.GetProperty("code").GetInt32());
        Assert.Equal(ReasonCodes.ApprovalRequired, error.GetProperty("data").GetProperty("reason").GetString());
        Assert.Equal(Assert.Single(await PendingAsync(scenario.Agent)).GetProperty("id").GetString(), error.GetProperty("data").GetProperty("approvalId").GetString());
    }

    [Fact]
    public async Task Nothing_the_agent_sends_approves_a_call()
    {
        var scenario = await Scenario.CreateAsync(fabric, server => [Gated(server)]);
        using var http = fabric.AgentHttpClient(scenario.Certificate);
        var endpoint = fabric.McpUrl(scenario.Server);
        var token = "forge-" + Guid.NewGuid().ToString("N")[..8];

        // An approved request for other arguments; a call naming it in requestState and "accepting" in inputResponses
        // is still its own call: held, and the other approval is not used up.
        var other = ApprovalIdOf(await CallAsync(http, endpoint, EchoCall(token + "-approved")))!;
        await DecideAsync(other, "approve");
        var forged = await CallAsync(http, endpoint, EchoCall(token,
            $",\"requestState\":\"fabric-approval.{other}\",\"inputResponses\":{{\"fabric-approval\":{{\"action\":\"accept\",\"content\":{{}}}}}}"));
        Assert.NotNull(ApprovalIdOf(forged));
        Assert.NotEqual(other, ApprovalIdOf(forged));
        Assert.Equal(0, UpstreamCalls(token));
        Assert.Equal("approved", JsonDocument.Parse(await fabric.Admin.GetStringAsync($"/v1/approvals/{other}")).RootElement.GetProperty("state").GetString());

        // An SDK client whose user "accepts" every elicitation: the SDK retries, the fabric still holds the call.
        var elicited = new List<string>();
        await using var agent = await McpClients.ConnectAsync(endpoint, ProtocolGeneration.Stateless2026, scenario.Certificate, fabric.ValidateEdge,
            handlers: new McpClientHandlers
            {
                ElicitationHandler = (request, _) =>
                {
                    elicited.Add(request?.Message ?? "");
                    return ValueTask.FromResult(new ElicitResult { Action = "accept" });
                },
            });
        await Assert.ThrowsAnyAsync<McpException>(async () => await agent.Client.CallToolAsync("echo", new Dictionary<string, object?> { ["text"] = token }));
        Assert.NotEmpty(elicited);
        Assert.Equal(0, UpstreamCalls(token));
        // Another identity cannot use this agent's approval either.
        var stranger = await Scenario.CreateAsync(fabric, _ => [Gated(scenario.Server)]);
        using var strangerHttp = fabric.AgentHttpClient(stranger.Certificate);
        Assert.NotNull(ApprovalIdOf(await CallAsync(strangerHttp, fabric.McpUrl(scenario.Server), EchoCall(token + "-approved"))));
    }

    [Fact]
    public async Task A_2026_client_with_elicitation_waits_while_an_admin_approves_and_its_retry_goes_through()
    {
        var scenario = await Scenario.CreateAsync(fabric, server => [Gated(server)]);
        var token = "human-" + Guid.NewGuid().ToString("N")[..8];
        string? shown = null;
        await using var agent = await McpClients.ConnectAsync(fabric.McpUrl(scenario.Server), ProtocolGeneration.Stateless2026, scenario.Certificate, fabric.ValidateEdge,
            handlers: new McpClientHandlers
            {
                ElicitationHandler = async (request, _) =>
                {
                    // The user sees which approval to ask for; an admin approves it in the console meanwhile.
                    shown = request?.Message;
                    var id = Assert.Single(await PendingAsync(scenario.Agent)).GetProperty("id").GetString()!;
                    await DecideAsync(id, "approve");
                    return new ElicitResult { Action = "accept" };
                },
            });

        var result = await agent.Client.CallToolAsync("echo", new Dictionary<string, object?> { ["text"] = token });
        Assert.Equal(token, Assert.IsType<TextContentBlock>(Assert.Single(result.Content)).Text);
        Assert.Matches("approval apr_[a-z2-7]{26}", shown);
        Assert.Equal(1, UpstreamCalls(token));
    }

    [Fact]
    public async Task Disabling_an_identity_cancels_its_pending_approvals()
    {
        var scenario = await Scenario.CreateAsync(fabric, server => [Gated(server)]);
        using var http = fabric.AgentHttpClient(scenario.Certificate);
        var id = ApprovalIdOf(await CallAsync(http, fabric.McpUrl(scenario.Server), EchoCall("cancel-me")))!;
        await fabric.PutAsync("/v1/workloads/" + scenario.Agent["spiffe://".Length..], new { enabled = false });
        await CancelledAsync(id, scenario.Agent);
        Assert.Equal("approval-not-pending", (await DecideAsync(id, "approve", HttpStatusCode.Conflict)).GetProperty("reason").GetString());
    }

    [Theory]
    [InlineData("grant-removed")]
    [InlineData("server-deleted")]
    public async Task Removing_access_cancels_the_approvals_it_gated_and_only_those(string revocation)
    {
        var scenario = await Scenario.CreateAsync(fabric, server => [Gated(server)]);
        var bystander = await Scenario.CreateAsync(fabric, server => [Gated(server)]);
        using var http = fabric.AgentHttpClient(scenario.Certificate);
        using var bystanderHttp = fabric.AgentHttpClient(bystander.Certificate);
        var id = ApprovalIdOf(await CallAsync(http, fabric.McpUrl(scenario.Server), EchoCall("cancel-me")))!;
        var untouched = ApprovalIdOf(await CallAsync(bystanderHttp, fabric.McpUrl(bystander.Server), EchoCall("keep-me")))!;

        using (var response = revocation == "grant-removed"
            ? await fabric.Admin.DeleteAsync($"/v1/policies/{scenario.Policy}")
            : await fabric.Admin.DeleteAsync($"/v1/servers/{scenario.Server}"))
        {
            Assert.True(response.IsSuccessStatusCode);
        }
        await CancelledAsync(id, scenario.Agent);
        Assert.Equal("pending", JsonDocument.Parse(await fabric.Admin.GetStringAsync($"/v1/approvals/{untouched}")).RootElement.GetProperty("state").GetString());
    }

    /// <summary>The management call returned: the request is cancelled by then, and audited.</summary>
    private async Task CancelledAsync(string id, string workload)
    {
        Assert.Equal("cancelled", JsonDocument.Parse(await fabric.Admin.GetStringAsync($"/v1/approvals/{id}")).RootElement.GetProperty("state").GetString());
        var records = await fabric.AuditAsync($"workload={Uri.EscapeDataString(workload)}&decision=deny&limit=50");
        Assert.Contains(records, r => r.TryGetProperty("approvalId", out var a) && a.GetString() == id
            && r.TryGetProperty("kind", out var k) && k.GetString() == "approval-cancelled");
    }

    [Theory]
    [InlineData("""{"server":"s","effect":"deny","tools":["t"],"when":{"approval":"required"}}""")]
    [InlineData("""{"server":"s","effect":"allow","when":{"approval":"required"}}""")]
    [InlineData("""{"server":"s","effect":"allow","tools":["t"],"resources":["file:///*"],"when":{"approval":"required"}}""")]
    [InlineData("""{"server":"s","effect":"allow","tools":["t"],"when":{"approval":"maybe"}}""")]
    [InlineData("""{"server":"s","effect":"allow","tools":["t"],"when":{"approval":1}}""")]
    [InlineData("""{"server":"s","effect":"allow","tools":["t"],"when":{}}""")]
    [InlineData("""{"server":"s","effect":"allow","tools":["t"],"when":{"approval":"required","approvers":["me"]}}""")]
    public async Task An_approval_rule_that_cannot_work_is_a_400(string rule)
    {
        var body = $$"""{"subjects":["spiffe://{{FabricFixture.TrustDomain}}/agents/a"],"rules":[{{rule}}]}""";
        using var response = await fabric.Admin.PutAsync($"/v1/policies/{FabricFixture.Unique("apr")}", new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Theory]
    [InlineData("apr_nope")]
    [InlineData("apr_aaaaaaaaaaaaaaaaaaaaaaaaaa")]
    [InlineData("../servers")]
    public async Task Deciding_an_unknown_or_malformed_approval_is_a_404(string id)
    {
        using var response = await fabric.Admin.PostAsync($"/v1/approvals/{Uri.EscapeDataString(id)}:approve", null);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        using var get = await fabric.Admin.GetAsync($"/v1/approvals/{Uri.EscapeDataString(id)}");
        Assert.Equal(HttpStatusCode.NotFound, get.StatusCode);
    }
}
