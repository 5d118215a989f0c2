using System.Net;
using System.Text;
using System.Text.Json;
using Fabric.Contracts.Audit;
using Fabric.Contracts.Grains;
using Fabric.Contracts.Policy;

namespace Fabric.Silo.Tests.Apis;

/// <summary><c>GET /v1/status</c> (silos, secret sources) and <c>GET /v1/workloads</c> (the identities the fabric knows of).</summary>
[Collection(SiloApiCollection.Name)]
public sealed class StatusApiTests(SiloApiFixture fixture)
{
    [Fact]
    public async Task Status_lists_the_active_silo_and_the_health_of_each_secret_source()
    {
        using var response = await fixture.Admin.GetAsync("/v1/status");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());

        var silo = Assert.Single(json.RootElement.GetProperty("silos").EnumerateArray());
        Assert.Equal("Active", silo.GetProperty("status").GetString());
        Assert.False(string.IsNullOrEmpty(silo.GetProperty("address").GetString()));
        var local = Assert.Single(json.RootElement.GetProperty("secretSources").EnumerateArray(), s => s.GetProperty("source").GetString() == "local");
        Assert.True(local.GetProperty("healthy").GetBoolean());
    }

    [Fact]
    public async Task Status_and_workloads_want_the_admin_token()
    {
        using var status = await fixture.Anonymous.GetAsync("/v1/status");
        using var workloads = await fixture.Anonymous.GetAsync("/v1/workloads");

        Assert.Equal(HttpStatusCode.Unauthorized, status.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, workloads.StatusCode);
    }

    [Fact]
    public async Task Workloads_are_those_a_policy_names_exactly_and_those_the_audit_saw_with_their_state()
    {
        var id = Guid.NewGuid().ToString("N")[..10];
        var named = $"spiffe://fabric.local/agents/named-{id}";
        var seen = $"spiffe://fabric.local/agents/seen-{id}";
        var globbed = $"spiffe://fabric.local/globbed-{id}/*";
        using (var put = await fixture.Admin.PutAsync($"/v1/policies/workloads-{id}", new StringContent(
            $$"""{"subjects":["{{named}}","{{globbed}}"],"rules":[{"server":"s-{{id}}","effect":"allow","tools":["read"]}]}""", Encoding.UTF8, "application/json")))
        {
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        }
        await fixture.Grains.Audit().AppendAsync([new AuditRecord
        {
            Id = Guid.NewGuid(), Time = DateTimeOffset.UtcNow, Edge = "workloads-test", Workload = seen, Server = $"s-{id}",
            Method = McpMethods.ToolsCall, Name = "read", Allowed = false, Reason = ReasonCodes.NoMatchingAllow,
        }]);
        using (var disable = await fixture.Admin.PutAsync($"/v1/workloads/fabric.local/agents/named-{id}", new StringContent("""{"enabled":false}""", Encoding.UTF8, "application/json")))
        {
            Assert.Equal(HttpStatusCode.OK, disable.StatusCode);
        }

        using var response = await fixture.Admin.GetAsync("/v1/workloads");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var listed = json.RootElement.EnumerateArray().ToDictionary(w => w.GetProperty("spiffeId").GetString()!, w => w.Clone());

        Assert.False(listed[named].GetProperty("enabled").GetBoolean());
        Assert.True(listed[seen].GetProperty("enabled").GetBoolean());
        Assert.DoesNotContain(listed.Keys, k => k.Contains($"globbed-{id}", StringComparison.Ordinal));
    }
}
