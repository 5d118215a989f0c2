using System.Text.Json;
using Fabric.Contracts.Policy;
using Fabric.Edge.Audit;
using Fabric.Edge.Tests.EndToEnd;
using Fabric.Edge.Tests.Fixtures;
using Fabric.Testing;
using Microsoft.Extensions.DependencyInjection;
using ModelContextProtocol;

namespace Fabric.Edge.Tests.Policy;

/// <summary>
/// Issue 12 §4: budgets per identity × server (× tool), counted per tool call, held by a grain, sliced out to edges.
/// Two edges share one budget here: together they admit exactly the limit, and every call past it is refused with
/// <c>rate-limited</c> and the time until the window ends, never forwarded, audited.
/// </summary>
[Collection(FabricCollection.Name)]
public sealed class BudgetTests(FabricFixture fabric)
{
    private static object Limited(string server, int calls, string per, string[]? tools = null) =>
        tools is null ? new { server, effect = "allow", limit = new { calls, per } } : new { server, effect = "allow", tools, limit = new { calls, per } };

    /// <summary>One raw 2026-07-28 tools/call; the result text, or the error's <c>data</c>.</summary>
    private static async Task<(string? Text, JsonElement? Error)> CallAsync(HttpClient http, Uri endpoint, string tool, string text)
    {
        var arguments = tool == "add" ? "{\"a\":1,\"b\":2}" : $"{{\"text\":\"{text}\"}}";
        using var response = await McpClients.PostAsync(http, endpoint,
            McpClients.StatelessRequest(1, "tools/call", $"\"name\":\"{tool}\",\"arguments\":{arguments}"), McpClients.StatelessHeaders("tools/call", tool));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, body);
        using var json = JsonDocument.Parse(McpClients.MessageOf(body));
        if (json.RootElement.TryGetProperty("error", out var error))
        {
            Assert.Equal(-32003, error.GetProperty("code").GetInt32());
            return (null, error.GetProperty("data").Clone());
        }
        return (json.RootElement.GetProperty("result").GetProperty("content")[0].GetProperty("text").GetString(), null);
    }

    [Fact]
    public async Task Two_edges_sharing_a_budget_admit_exactly_its_limit_then_refuse_with_the_time_left()
    {
        const int Limit = 40;
        var scenario = await Scenario.CreateAsync(fabric, server => [Limited(server, Limit, "1d", ["echo"])]);
        var name = "budget-" + Guid.NewGuid().ToString("N")[..8];
        var second = await fabric.StartEdgeAsync(name, await EdgeJoinArguments.ForAsync(fabric.Admin, name));
        try
        {
            using var http = fabric.AgentHttpClient(scenario.Certificate);
            var edges = new[] { fabric.McpUrl(scenario.Server), new Uri(new Uri(FabricFixture.Address(second)), "/mcp/" + scenario.Server) };
            var token = Guid.NewGuid().ToString("N");
            var day = CallLimit.WindowStart(DateTimeOffset.UtcNow, TimeSpan.FromDays(1));

            // Both edges, by turns, until each has refused: stragglers of a slice are used before an edge refuses.
            var admitted = 0;
            var refused = new JsonElement?[2];
            for (var i = 0; refused.Any(r => r is null) && i < 4 * Limit; i++)
            {
                var edge = i % 2;
                if (refused[edge] is not null)
                {
                    continue;
                }
                var (text, error) = await CallAsync(http, edges[edge], "echo", $"{token} {i}");
                if (text is not null)
                {
                    admitted++;
                }
                else
                {
                    refused[edge] = error;
                }
            }

            var crossedMidnight = CallLimit.WindowStart(DateTimeOffset.UtcNow, TimeSpan.FromDays(1)) != day;
            if (crossedMidnight)
            {
                Assert.InRange(admitted, Limit, 2 * Limit); // two windows' budgets: the fixed-window bound
            }
            else
            {
                Assert.Equal(Limit, admitted);
            }
            // Only admitted calls reached the server.
            Assert.Equal(admitted, fabric.Upstream.Requests.Count(r => r.Body.Contains(token, StringComparison.Ordinal)));
            var untilMidnight = (day + TimeSpan.FromDays(1) - DateTimeOffset.UtcNow).TotalMilliseconds;
            foreach (var data in refused)
            {
                Assert.Equal(ReasonCodes.RateLimited, data!.Value.GetProperty("reason").GetString());
                var retryAfter = data.Value.GetProperty("retryAfterMs").GetInt64();
                Assert.InRange(retryAfter, 1, 86_400_000);
                if (!crossedMidnight)
                {
                    Assert.InRange(retryAfter, untilMidnight - 60_000, untilMidnight + 60_000);
                }
            }
            // Still refused, on both, and the refusal is audited with the rule that carries the budget.
            Assert.NotNull((await CallAsync(http, edges[0], "echo", "again")).Error);
            var records = await fabric.AuditAsync($"workload={Uri.EscapeDataString(scenario.Agent)}&limit=1");
            Assert.Equal(ReasonCodes.RateLimited, Assert.Single(records).GetProperty("reason").GetString());
            await second.Services.GetRequiredService<AuditShipper>().FlushAsync();
            var refusedAudit = (await fabric.AuditAsync($"workload={Uri.EscapeDataString(scenario.Agent)}&decision=deny&limit=100"))
                .Count(r => r.GetProperty("reason").GetString() == ReasonCodes.RateLimited);
            Assert.True(refusedAudit >= 3, $"{refusedAudit} rate-limited records");
        }
        finally
        {
            await second.StopAsync();
            await second.DisposeAsync();
        }
    }

    [Fact]
    public async Task Concurrent_callers_on_two_edges_are_never_admitted_past_the_limit()
    {
        const int Limit = 60;
        var scenario = await Scenario.CreateAsync(fabric, server => [Limited(server, Limit, "1d")]);
        var name = "budget-" + Guid.NewGuid().ToString("N")[..8];
        var second = await fabric.StartEdgeAsync(name, await EdgeJoinArguments.ForAsync(fabric.Admin, name));
        try
        {
            using var http = fabric.AgentHttpClient(scenario.Certificate);
            var edges = new[] { fabric.McpUrl(scenario.Server), new Uri(new Uri(FabricFixture.Address(second)), "/mcp/" + scenario.Server) };
            var day = CallLimit.WindowStart(DateTimeOffset.UtcNow, TimeSpan.FromDays(1));
            var admitted = 0;
            // Six callers per edge, each until refused: an edge refuses only once its slices are used up.
            await Task.WhenAll(Enumerable.Range(0, 12).Select(async worker =>
            {
                for (var i = 0; i < 2 * Limit; i++)
                {
                    if ((await CallAsync(http, edges[worker % 2], "echo", $"{worker}.{i}")).Text is null)
                    {
                        return;
                    }
                    Interlocked.Increment(ref admitted);
                }
            }));
            if (CallLimit.WindowStart(DateTimeOffset.UtcNow, TimeSpan.FromDays(1)) == day)
            {
                Assert.Equal(Limit, admitted);
            }
            else
            {
                Assert.InRange(admitted, Limit, 2 * Limit);
            }
        }
        finally
        {
            await second.StopAsync();
            await second.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_rule_naming_tools_budgets_each_tool_and_only_tool_calls_are_counted()
    {
        var scenario = await Scenario.CreateAsync(fabric, server => [Limited(server, 2, "1d", ["echo", "add"])]);
        using var http = fabric.AgentHttpClient(scenario.Certificate);
        var endpoint = fabric.McpUrl(scenario.Server);

        Assert.NotNull((await CallAsync(http, endpoint, "echo", "1")).Text);
        Assert.NotNull((await CallAsync(http, endpoint, "echo", "2")).Text);
        Assert.Equal(ReasonCodes.RateLimited, (await CallAsync(http, endpoint, "echo", "3")).Error!.Value.GetProperty("reason").GetString());
        // Another tool of the same rule has a budget of its own.
        Assert.Equal("3", (await CallAsync(http, endpoint, "add", "")).Text);

        // Lists, pings and the handshake are not tool calls: a 2025 SDK client connects, lists, pings and is refused only on the call.
        await using var connected = await scenario.ConnectAsync(ProtocolGeneration.Sessions2025);
        for (var i = 0; i < 5; i++)
        {
            Assert.Contains((await connected.Client.ListToolsAsync()), t => t.Name == "echo");
            await connected.Client.PingAsync();
        }
        Assert.Equal("3", (await CallAsync(http, endpoint, "add", "")).Text);
        var refused = await Assert.ThrowsAnyAsync<McpException>(async () => await connected.Client.CallToolAsync("add", new Dictionary<string, object?> { ["a"] = 1, ["b"] = 2 }));
        Assert.Contains(ReasonCodes.RateLimited, refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_tighter_limited_rule_binds_even_when_a_broader_allow_decides()
    {
        // The first rule decides every tool; the second, tighter one on echo still charges echo.
        var scenario = await Scenario.CreateAsync(fabric, server => [Limited(server, 100, "1d"), Limited(server, 1, "1d", ["echo"])]);
        using var http = fabric.AgentHttpClient(scenario.Certificate);
        var endpoint = fabric.McpUrl(scenario.Server);

        Assert.NotNull((await CallAsync(http, endpoint, "echo", "1")).Text);
        var refused = (await CallAsync(http, endpoint, "echo", "2")).Error!.Value;
        Assert.Equal(ReasonCodes.RateLimited, refused.GetProperty("reason").GetString());
        Assert.Equal(0, refused.GetProperty("rule").GetInt32()); // the rule that decided; the budget of rule 1 refused
        Assert.Equal("3", (await CallAsync(http, endpoint, "add", "")).Text);
    }

    [Theory]
    [InlineData("""{"calls":"10","per":"1m"}""")]
    [InlineData("""{"calls":10.5,"per":"1m"}""")]
    [InlineData("""{"calls":10,"per":"1m","burst":5}""")]
    [InlineData("""{"calls":10,"per":"1w"}""")]
    [InlineData("""{"calls":0,"per":"1m"}""")]
    [InlineData("""{"calls":99999999999,"per":"1m"}""")]
    [InlineData("""{"calls":10}""")]
    public async Task A_limit_that_cannot_work_is_a_400(string limit)
    {
        var body = $$"""{"subjects":["spiffe://{{FabricFixture.TrustDomain}}/agents/a"],"rules":[{"server":"s","effect":"allow","tools":["t"],"limit":{{limit}}}]}""";
        using var response = await fabric.Admin.PutAsync($"/v1/policies/{FabricFixture.Unique("lim")}", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, response.StatusCode);
    }
}
