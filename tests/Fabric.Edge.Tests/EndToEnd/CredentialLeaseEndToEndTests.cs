using System.Text.Json;
using Fabric.Edge.Tests.Fixtures;

namespace Fabric.Edge.Tests.EndToEnd;

/// <summary>Leases as the operator sees them: attributed in the audit, inspectable and rotatable through the API.</summary>
[Collection(FabricCollection.Name)]
public sealed class CredentialLeaseEndToEndTests(FabricFixture fabric)
{
    private static object Allow(string server, params string[] tools) => new { server, effect = "allow", tools };

    [Fact]
    public async Task The_audit_names_the_lease_the_api_shows_it_and_rotation_replaces_it_at_every_edge()
    {
        var scenario = await Scenario.CreateAsync(fabric, s => [Allow(s, "echo")]);
        await using var agent = await scenario.ConnectAsync(ProtocolGeneration.Stateless2026);
        await agent.Client.CallToolAsync("echo", new Dictionary<string, object?> { ["text"] = "one" });

        var first = await LastEchoAsync(scenario);
        using var status = JsonDocument.Parse(await fabric.Admin.GetStringAsync($"/v1/servers/{scenario.Server}/credential"));
        var lease = Assert.Single(status.RootElement.GetProperty("leases").EnumerateArray());
        Assert.Equal("local", first.GetProperty("credentialSource").GetString());
        Assert.Equal(lease.GetProperty("leaseId").GetString(), first.GetProperty("leaseId").GetString());
        Assert.True(lease.GetProperty("expiresAt").GetDateTimeOffset() > DateTimeOffset.UtcNow);

        using var rotated = await fabric.Admin.PostAsync($"/v1/servers/{scenario.Server}/credential:rotate", null);
        rotated.EnsureSuccessStatusCode();
        var rotatedBody = await rotated.Content.ReadAsStringAsync();
        await agent.Client.CallToolAsync("echo", new Dictionary<string, object?> { ["text"] = "two" });
        var second = await LastEchoAsync(scenario);

        Assert.NotEqual(first.GetProperty("leaseId").GetString(), second.GetProperty("leaseId").GetString());
        Assert.Contains(second.GetProperty("leaseId").GetString()!, rotatedBody, StringComparison.Ordinal);
        Assert.DoesNotContain(scenario.SecretValue, status.RootElement.GetRawText(), StringComparison.Ordinal);
        Assert.DoesNotContain(scenario.SecretValue, rotatedBody, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_missing_secret_denies_with_credential_unavailable_and_never_forwards()
    {
        var scenario = await Scenario.CreateAsync(fabric, s => [Allow(s, "echo")]);
        using (var deleted = await fabric.Admin.DeleteAsync($"/v1/secrets/{scenario.Secret}"))
        {
            deleted.EnsureSuccessStatusCode();
        }
        await using var agent = await scenario.ConnectAsync(ProtocolGeneration.Stateless2026).ContinueWith(t => t.IsCompletedSuccessfully ? t.Result : null);
        var probe = "probe-" + Guid.NewGuid().ToString("N");
        using var http = fabric.AgentHttpClient(scenario.Certificate);

        using var response = await McpClients.PostAsync(http, fabric.McpUrl(scenario.Server),
            McpClients.StatelessRequest(9, "tools/call", "\"name\":\"echo\",\"arguments\":{\"text\":\"" + probe + "\"}"),
            McpClients.StatelessHeaders("tools/call", "echo"));

        using var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(-32003, error.RootElement.GetProperty("error").GetProperty("code").GetInt32());
        Assert.Equal("credential-unavailable", error.RootElement.GetProperty("error").GetProperty("data").GetProperty("reason").GetString());
        Assert.DoesNotContain(fabric.Upstream.Requests, r => r.Body.Contains(probe, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_per_workload_binding_gives_each_identity_its_own_lease()
    {
        var server = FabricFixture.Unique("srv");
        var secret = FabricFixture.Unique("key");
        await fabric.PutAsync($"/v1/secrets/{secret}", new { value = "per-workload-" + Guid.NewGuid().ToString("N") });
        await fabric.PutAsync($"/v1/servers/{server}", new
        {
            upstream = fabric.Upstream.Endpoint.ToString(),
            credential = new { source = "local", @ref = secret, perWorkload = true, inject = new { header = "Authorization", format = "Bearer {secret}" } },
        });
        var agents = new[] { FabricFixture.Unique("a"), FabricFixture.Unique("b") }.Select(n => $"spiffe://{FabricFixture.TrustDomain}/agents/{n}").ToArray();
        await fabric.PutAsync($"/v1/policies/{FabricFixture.Unique("pol")}", new { subjects = agents, rules = new[] { Allow(server, "echo") } });

        var leaseIds = new List<string>();
        foreach (var agent in agents)
        {
            await using var client = await fabric.ConnectAsync(server, await fabric.MintSvidAsync(agent), ProtocolGeneration.Stateless2026);
            await client.Client.CallToolAsync("echo", new Dictionary<string, object?> { ["text"] = agent });
            var records = await fabric.AuditAsync($"workload={Uri.EscapeDataString(agent)}&decision=allow");
            leaseIds.Add(records.First(r => r.GetProperty("name").GetString() == "echo").GetProperty("leaseId").GetString()!);
        }

        Assert.NotEqual(leaseIds[0], leaseIds[1]);
        using var status = JsonDocument.Parse(await fabric.Admin.GetStringAsync($"/v1/servers/{server}/credential"));
        Assert.True(status.RootElement.GetProperty("perWorkload").GetBoolean());
        var leases = status.RootElement.GetProperty("leases").EnumerateArray().ToArray();
        Assert.Equal(agents.Order(StringComparer.Ordinal), leases.Select(l => l.GetProperty("workload").GetString()!).Order(StringComparer.Ordinal));
        Assert.Equal(leaseIds.Order(StringComparer.Ordinal), leases.Select(l => l.GetProperty("leaseId").GetString()!).Order(StringComparer.Ordinal));
    }

    private async Task<JsonElement> LastEchoAsync(Scenario scenario)
    {
        var records = await fabric.AuditAsync($"workload={Uri.EscapeDataString(scenario.Agent)}&decision=allow");
        return records.First(r => r.GetProperty("name").GetString() == "echo");
    }
}
