using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Fabric.Contracts.Audit;
using Fabric.Contracts.Grains;
using Fabric.Contracts.Policy;

namespace Fabric.Silo.Tests.Apis;

/// <summary>
/// Issue 13 §2: <c>POST /v1/policies:replay</c> re-decides past calls under candidate policies and lists exactly the
/// calls that would flip, checked against the evaluator's own answer for each; nothing changes in the catalog.
/// </summary>
[Collection(SiloApiCollection.Name)]
public sealed class ReplayApiTests(SiloApiFixture fixture)
{
    private static AuditRecord Call(string workload, string server, string tool, bool allowed, string reason, string? auth = "x509-svid") => new()
    {
        Id = Guid.NewGuid(),
        Time = DateTimeOffset.UtcNow,
        Edge = "replay-test",
        Workload = workload,
        Server = server,
        Method = McpMethods.ToolsCall,
        Name = tool,
        Allowed = allowed,
        Reason = reason,
        Auth = auth,
    };

    private async Task PutPolicyAsync(string name, string json)
    {
        using var response = await fixture.Admin.PutAsync($"/v1/policies/{name}", new StringContent(json, Encoding.UTF8, "application/json"));
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Exactly_the_calls_whose_decision_changes_are_listed_and_nothing_is_changed()
    {
        var id = Guid.NewGuid().ToString("N")[..8];
        var agent = $"spiffe://fabric.local/agents/replay-{id}";
        var server = $"replay-{id}";
        var policy = $"replay-{id}";
        await PutPolicyAsync(policy, $$"""{"subjects":["{{agent}}"],"rules":[{"server":"{{server}}","effect":"allow","tools":["read","write"]}]}""");
        await fixture.Grains.Audit().AppendAsync(
        [
            Call(agent, server, "read", true, ReasonCodes.Allowed),
            Call(agent, server, "delete", false, ReasonCodes.NoMatchingAllow),
            Call(agent, server, "write", true, ReasonCodes.UpstreamUnavailable), // allowed by the policy; the upstream failed
            Call(agent, server, "write", false, ReasonCodes.WorkloadDisabled),   // not a policy decision: skipped
        ]);
        var before = (await fixture.Grains.Catalog().GetAsync(policy))!.Version;

        var candidate = new
        {
            policies = new[]
            {
                new
                {
                    name = policy,
                    subjects = new[] { agent },
                    rules = new object[]
                    {
                        new { server, effect = "allow", tools = new[] { "read", "delete" } },
                        new { server, effect = "deny", tools = new[] { "write" } },
                    },
                },
            },
            limit = 500,
        };
        using var response = await fixture.Admin.PostAsJsonAsync("/v1/policies:replay", candidate);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        using var json = JsonDocument.Parse(text);
        var flips = json.RootElement.GetProperty("flips").EnumerateArray().Where(f => f.GetProperty("workload").GetString() == agent)
            .Select(f => (Tool: f.GetProperty("name").GetString(), Was: f.GetProperty("was").GetString(), Now: f.GetProperty("now").GetString(), Reason: f.GetProperty("nowReason").GetString()))
            .OrderBy(f => f.Tool, StringComparer.Ordinal).ToArray();
        Assert.Equal([("delete", "deny", "allow", ReasonCodes.Allowed), ("write", "allow", "deny", ReasonCodes.ExplicitDeny)], flips);
        Assert.True(json.RootElement.GetProperty("skipped").GetInt32() >= 1);
        Assert.Equal(before, (await fixture.Grains.Catalog().GetAsync(policy))!.Version); // a replay changes nothing
    }

    [Fact]
    public async Task A_call_whose_new_decision_hangs_on_arguments_is_flagged()
    {
        var id = Guid.NewGuid().ToString("N")[..8];
        var agent = $"spiffe://fabric.local/agents/replay-{id}";
        var server = $"replay-{id}";
        await fixture.Grains.Audit().AppendAsync([Call(agent, server, "read", true, ReasonCodes.Allowed)]);
        using var response = await fixture.Admin.PostAsJsonAsync("/v1/policies:replay", new
        {
            policies = new[] { new { name = $"replay-{id}", subjects = new[] { agent }, rules = new[] { new { server, effect = "allow", tools = new[] { "read" }, when = new { arguments = new Dictionary<string, string> { ["path"] = "/tmp/*" } } } } } },
        });
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var flip = Assert.Single(json.RootElement.GetProperty("flips").EnumerateArray(), f => f.GetProperty("workload").GetString() == agent);
        Assert.True(flip.GetProperty("dependsOnArguments").GetBoolean());
    }

    [Theory]
    [InlineData("""{"policies":[{"name":"x","subjects":["spiffe://fabric.local/a"],"rules":[{"server":"s","effect":"allow","tools":[]}]}]}""", "policies[0].rules[0].tools")]
    [InlineData("""{"policies":[{"name":"x","subjects":["spiffe://fabric.local/a"],"rules":[{"server":"s"}]}]}""", "policies[0]")]
    [InlineData("""{"policies":[],"limit":0}""", "limit")]
    [InlineData("""{"policies":[],"limit":100000}""", "limit")]
    public async Task A_bad_replay_is_a_400_naming_the_field(string body, string field)
    {
        using var response = await fixture.Admin.PostAsync("/v1/policies:replay", new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.True(json.RootElement.GetProperty("errors").TryGetProperty(field, out _), json.RootElement.ToString());
    }
}
