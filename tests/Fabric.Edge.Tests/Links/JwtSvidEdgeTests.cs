using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Fabric.Edge.Tests.EndToEnd;
using Fabric.Edge.Tests.Fixtures;

namespace Fabric.Edge.Tests.Links;

/// <summary>A fabric whose edge also accepts JWT-SVID bearer tokens (<c>Fabric:Edge:JwtSvid:Enabled</c>).</summary>
public sealed class JwtFabricFixture : FabricFixture
{
    protected override IEnumerable<string> EdgeArguments() => ["--Fabric:Edge:JwtSvid:Enabled=true"];
}

[CollectionDefinition(Name)]
public sealed class JwtFabricCollection : ICollectionFixture<JwtFabricFixture>
{
    public const string Name = "jwt-fabric";
}

/// <summary>
/// Issue 10 §4: an agent that cannot do mTLS presents a JWT-SVID, with the real MCP SDK client. The edge admits it
/// only with the right audience, never forwards the token, audits how the caller proved its ID, and a policy with
/// <c>auth: mtls</c> allows a bearer caller nothing.
/// </summary>
[Collection(JwtFabricCollection.Name)]
public sealed class JwtSvidEdgeTests(JwtFabricFixture fabric)
{
    private const string EdgeAudience = $"spiffe://{FabricFixture.TrustDomain}/fabric/edge/e2e";

    [Fact]
    public async Task A_bearer_agent_calls_an_allowed_tool_and_the_token_never_reaches_the_upstream()
    {
        var scenario = await Scenario.CreateAsync(fabric, server => [new { server, effect = "allow", tools = new[] { "echo" } }]);
        var token = await MintAsync(scenario.Agent, EdgeAudience);

        await using (var agent = await McpClients.ConnectAsync(fabric.McpUrl(scenario.Server), ProtocolGeneration.Stateless2026,
            clientCertificate: null, fabric.ValidateEdge, bearerToken: token))
        {
            var result = await agent.Client.CallToolAsync("echo", new Dictionary<string, object?> { ["text"] = "bearer" });
            Assert.NotEqual(true, result.IsError);
        }

        Assert.DoesNotContain(fabric.Upstream.Requests, r => r.Headers.Values.Any(v => v.Contains(token, StringComparison.Ordinal)) || r.Body.Contains(token, StringComparison.Ordinal));
        Assert.Contains(fabric.Upstream.Requests, r => r.Header("Authorization") == "Bearer " + scenario.SecretValue);
        var records = await fabric.AuditAsync($"workload={Uri.EscapeDataString(scenario.Agent)}&server={scenario.Server}");
        Assert.NotEmpty(records);
        Assert.All(records, r => Assert.Equal("jwt-svid", r.GetProperty("auth").GetString()));
        Assert.DoesNotContain(fabric.EdgeLogs.Lines, line => line.Contains(token, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_policy_that_requires_mtls_allows_the_bearer_caller_nothing_and_the_mtls_caller_everything_it_names()
    {
        var scenario = await Scenario.CreateAsync(fabric, server => [new { server, effect = "allow", tools = new[] { "echo" } }]);
        await fabric.PutAsync($"/v1/policies/{scenario.Policy}", new { subjects = new[] { scenario.Agent }, rules = new[] { new { server = scenario.Server, effect = "allow", tools = new[] { "echo" } } }, auth = "mtls" });
        var token = await MintAsync(scenario.Agent, EdgeAudience);

        await using var bearer = await McpClients.ConnectAsync(fabric.McpUrl(scenario.Server), ProtocolGeneration.Stateless2026, null, fabric.ValidateEdge, bearerToken: token)
            .ContinueWith(t => t.IsCompletedSuccessfully ? t.Result : null);
        await using var mtls = await fabric.ConnectAsync(scenario.Server, scenario.Certificate, ProtocolGeneration.Stateless2026);

        Assert.NotEqual(true, (await mtls.Client.CallToolAsync("echo", new Dictionary<string, object?> { ["text"] = "x" })).IsError);
        var records = await fabric.AuditAsync($"workload={Uri.EscapeDataString(scenario.Agent)}&server={scenario.Server}&decision=deny");
        // The bearer caller could not even discover the server: every one of its messages was denied.
        Assert.Contains(records, r => r.GetProperty("auth").GetString() == "jwt-svid" && r.GetProperty("reason").GetString() == "no-matching-allow");
        Assert.DoesNotContain(records, r => r.GetProperty("auth").GetString() == "x509-svid");
    }

    [Theory]
    [InlineData("wrong-audience")]
    [InlineData("garbage")]
    [InlineData("two-headers")]
    public async Task A_bad_bearer_token_is_a_401_naming_it_and_nothing_is_forwarded(string kind)
    {
        var scenario = await Scenario.CreateAsync(fabric, server => [new { server, effect = "allow" }]);
        var token = kind == "garbage" ? "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0." : await MintAsync(scenario.Agent, kind == "wrong-audience" ? "spiffe://fabric.local/fabric/edge/other" : EdgeAudience);
        using var http = McpClients.CreateHttpClient(null, fabric.ValidateEdge);
        using var request = new HttpRequestMessage(HttpMethod.Post, fabric.McpUrl(scenario.Server))
        {
            Content = new StringContent("""{"jsonrpc":"2.0","id":1,"method":"tools/list"}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + token);
        if (kind == "two-headers")
        {
            request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + token);
        }
        fabric.Upstream.ClearRequests();

        using var response = await http.SendAsync(request);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains("invalid-jwt-svid", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.DoesNotContain(fabric.Upstream.Requests, r => r.Body.Contains("tools/list", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Without_a_certificate_or_a_token_the_caller_is_refused()
    {
        using var http = McpClients.CreateHttpClient(null, fabric.ValidateEdge);

        using var response = await McpClients.PostAsync(http, fabric.McpUrl("anything"), """{"jsonrpc":"2.0","id":1,"method":"tools/list"}""");

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
    }

    [Theory]
    [InlineData("""{"spiffeId":"spiffe://fabric.local/agents/a","audience":"x","ttlSeconds":601}""", "ttlSeconds")]
    [InlineData("""{"spiffeId":"spiffe://fabric.local/agents/a","audience":"x","ttlSeconds":"60"}""", "ttlSeconds")]
    [InlineData("""{"spiffeId":"spiffe://fabric.local/agents/a","ttlSeconds":60}""", "audience")]
    [InlineData("""{"spiffeId":"spiffe://fabric.local/agents/a","audience":[],"ttlSeconds":60}""", "audience")]
    [InlineData("""{"spiffeId":"spiffe://fabric.local/agents/a","audience":[1],"ttlSeconds":60}""", "audience")]
    [InlineData("""{"spiffeId":"spiffe://fabric.local/fabric/edge/e2e","audience":"x"}""", "spiffeId")]
    [InlineData("""{"spiffeId":"spiffe://other.test/agents/a","audience":"x"}""", "spiffeId")]
    public async Task The_jwt_svid_api_refuses_bad_bodies_naming_the_field(string body, string field)
    {
        using var response = await fabric.Admin.PostAsync("/v1/jwt-svids", new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.True(problem.RootElement.GetProperty("errors").TryGetProperty(field, out _), problem.RootElement.ToString());
    }

    private async Task<string> MintAsync(string spiffeId, string audience)
    {
        using var response = await fabric.Admin.PostAsJsonAsync("/v1/jwt-svids", new { spiffeId, audience, ttlSeconds = 300 });
        response.EnsureSuccessStatusCode();
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return json.RootElement.GetProperty("token").GetString()!;
    }
}
