using System.Net;
using System.Text;
using System.Text.Json;
using Fabric.Contracts.Audit;
using Fabric.Contracts.Grains;
using Fabric.Contracts.Policy;

namespace Fabric.Silo.Tests.Apis;

/// <summary>
/// Issue 13 §5: the posture report names each weak spot the fabric's state holds: the objects, a fix, the OWASP NHI
/// and NIST SP 800-207 items. The state here is built to trip every check once; each finding must name this test's
/// objects and nothing it did not create.
/// </summary>
[Collection(SiloApiCollection.Name)]
public sealed class PostureApiTests(SiloApiFixture fixture)
{
    private async Task PutAsync(string path, string json)
    {
        using var response = await fixture.Admin.PutAsync(path, new StringContent(json, Encoding.UTF8, "application/json"));
        Assert.True(response.IsSuccessStatusCode, $"{path}: {await response.Content.ReadAsStringAsync()}");
    }

    [Fact]
    public async Task Each_weak_spot_is_a_finding_with_its_objects_a_fix_and_its_framework_items()
    {
        var id = Guid.NewGuid().ToString("N")[..8];
        await PutAsync($"/v1/servers/open-{id}", """{"upstream":"https://open.example.com/mcp","toolLock":"off"}""");
        await PutAsync($"/v1/servers/pinned-{id}", $$"""{"upstream":"https://pinned.example.com/mcp","identity":"spiffe://fabric.local/mcp/pinned-{{id}}"}""");
        await PutAsync($"/v1/servers/launched-{id}", "{\"identity\":\"spiffe://fabric.local/mcp/launched-" + id
            + "\",\"launch\":{\"command\":\"dotnet\",\"args\":[\"server.dll\"],\"env\":{\"GITHUB_TOKEN\":\"placeholder\",\"LOG_LEVEL\":\"debug\"}}}");
        await PutAsync($"/v1/egress/api-{id}", """{"upstream":"https://api.example.com"}""");
        await PutAsync($"/v1/policies/broad-{id}", $$"""
            {"subjects":["spiffe://fabric.local/*"],"rules":[
              {"server":"open-{{id}}","effect":"allow","tools":["*"]},
              {"egress":"api-{{id}}","effect":"allow","methods":["GET"]}]}
            """);
        await PutAsync($"/v1/policies/narrow-{id}", $$"""{"subjects":["spiffe://fabric.local/agents/{{id}}"],"rules":[{"server":"pinned-{{id}}","effect":"allow","tools":["read"]}]}""");
        var stranger = $"spiffe://fabric.local/agents/stranger-{id}";
        await fixture.Grains.Audit().AppendAsync([new AuditRecord
        {
            Id = Guid.NewGuid(), Time = DateTimeOffset.UtcNow, Edge = "posture-test", Workload = stranger, Server = $"pinned-{id}",
            Method = McpMethods.ToolsCall, Name = "read", Allowed = false, Reason = ReasonCodes.NoMatchingAllow,
        }]);

        using var response = await fixture.Admin.GetAsync("/v1/posture");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var findings = json.RootElement.GetProperty("findings").EnumerateArray().ToDictionary(f => f.GetProperty("id").GetString()!, f => f.Clone());
        string[] Objects(string finding) => findings.TryGetValue(finding, out var f)
            ? [.. f.GetProperty("objects").EnumerateArray().Select(o => o.GetString()!).Where(o => o.Contains(id, StringComparison.Ordinal))]
            : [];

        Assert.Equal([$"broad-{id}"], Objects("broad-subjects"));
        Assert.Equal([$"broad-{id}"], Objects("every-tool"));
        Assert.Equal([$"open-{id}"], Objects("unpinned-upstream"));     // the pinned one and the launched one are not
        Assert.Equal([$"open-{id}"], Objects("tool-lock-off"));
        Assert.Equal([$"launched-{id} (GITHUB_TOKEN)"], Objects("launch-env-secret"));
        Assert.Equal([$"api-{id} (policy broad-{id})"], Objects("egress-any-path"));
        Assert.Contains(stranger, Objects("ungoverned-workload"));
        foreach (var finding in findings.Values)
        {
            Assert.Contains(finding.GetProperty("severity").GetString(), new[] { "high", "medium", "low" });
            Assert.False(string.IsNullOrWhiteSpace(finding.GetProperty("fix").GetString()));
            Assert.Contains(finding.GetProperty("frameworks").EnumerateArray(), f => f.GetString()!.StartsWith("OWASP NHI", StringComparison.Ordinal) || f.GetString()!.StartsWith("NIST SP 800-207", StringComparison.Ordinal));
        }
        // The report never carries a secret value.
        Assert.DoesNotContain("placeholder", json.RootElement.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("unusedDays=0")]
    [InlineData("unusedDays=-3")]
    [InlineData("unusedDays=ten")]
    [InlineData("secretMaxAgeDays=99999")]
    public async Task Bad_parameters_are_a_400(string query)
    {
        using var response = await fixture.Admin.GetAsync("/v1/posture?" + query);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }
}
