using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Fabric.Edge.Audit;
using Fabric.Edge.Tests.Fixtures;
using Fabric.Hosting.Links;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;

namespace Fabric.Edge.Tests.Links;

/// <summary>
/// Issue 10 §3 across clusters: fabric A (<c>fabric.local</c>) and fabric B (<c>b.test</c>) federated both ways. An edge of
/// B runs in the ingress role in front of B's MCP server; A registers that server as reached through B's ingress edge
/// (<c>identity</c> pins the edge, <c>agentJwtAudience</c> names B's server). An agent of A calls with the real MCP SDK
/// through A's edge, which decides on A's policy and carries the call to B with its own edge SVID and a JWT-SVID of the
/// agent; B's edge decides on B's policy for the agent, splices B's credential and audits both identities.
/// </summary>
[Collection(FederationCollection.Name)]
public sealed class CrossClusterIngressTests(FederationFixture fabrics) : IAsyncLifetime
{
    private const string IngressName = "b-ingress";

    private WebApplication _ingress = null!;
    private string _bServer = null!;
    private string _bSecretValue = null!;

    private FabricFixture A => fabrics.A;

    private OtherDomainFabric B => fabrics.B;

    private static string IngressId => $"spiffe://{OtherDomainFabric.Domain}/fabric/edge/{IngressName}";

    private string Audience => $"spiffe://{OtherDomainFabric.Domain}/mcp/{_bServer}";

    private Uri IngressUrl(string server) =>
        new(new Uri(_ingress.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First()), "/mcp/" + server);

    public async Task InitializeAsync()
    {
        // Federated both ways: A's edge must trust B's ingress edge, B's edges must trust A's edge and A's JWT keys.
        await FederateAsync(A, B, $"spiffe://{OtherDomainFabric.Domain}/fabric/silo/b-silo", OtherDomainFabric.Domain);
        await FederateAsync(B, A, A.SiloServices.GetRequiredService<NodeIdentity>().Current.Id.ToString(), FabricFixture.TrustDomain);
        _ingress = await B.StartEdgeAsync(IngressName,
            [.. await EdgeJoinArguments.ForAsync(B.Admin, IngressName), $"--Fabric:TrustDomain={OtherDomainFabric.Domain}", "--Fabric:Edge:Ingress:Enabled=true"]);

        // B's server, with B's credential (in a header of its own, so it is told apart from the JWT-SVID).
        _bServer = FabricFixture.Unique("b-srv");
        var secret = FabricFixture.Unique("b-key");
        _bSecretValue = "sk-b-" + Guid.NewGuid().ToString("N");
        await B.PutAsync($"/v1/secrets/{secret}", new { value = _bSecretValue });
        await B.PutAsync($"/v1/servers/{_bServer}", new
        {
            upstream = B.Upstream.Endpoint.ToString(),
            credential = new { source = "local", @ref = secret, inject = new { header = "X-Api-Key", format = "{secret}" } },
        });
    }

    public async Task DisposeAsync()
    {
        await _ingress.StopAsync();
        await _ingress.DisposeAsync();
    }

    [Fact]
    public async Task An_agent_of_A_calls_a_server_of_B_through_both_edges_each_deciding_and_auditing_and_either_grant_removal_stops_the_next_call()
    {
        var agent = $"spiffe://{FabricFixture.TrustDomain}/agents/{FabricFixture.Unique("traveller")}";
        var aServer = FabricFixture.Unique("via-b");
        await A.PutAsync($"/v1/servers/{aServer}", new { upstream = IngressUrl(_bServer).ToString(), identity = IngressId, agentJwtAudience = Audience });
        var aPolicy = FabricFixture.Unique("pol");
        var bPolicy = FabricFixture.Unique("pol");
        Task GrantInA(params string[] tools) => A.PutAsync($"/v1/policies/{aPolicy}", new { subjects = new[] { agent }, rules = new[] { new { server = aServer, effect = "allow", tools } } });
        Task GrantInB(params string[] tools) => B.PutAsync($"/v1/policies/{bPolicy}", new { subjects = new[] { agent }, rules = new[] { new { server = _bServer, effect = "allow", tools } } });
        await GrantInA("echo", "whoami");
        await GrantInB("echo", "whoami");
        using var certificate = await A.MintSvidAsync(agent);
        B.Upstream.ClearRequests();

        await using var client = await A.ConnectAsync(aServer, certificate, ProtocolGeneration.Stateless2026);
        Assert.Equal("across", Text(await client.Client.CallToolAsync("echo", new Dictionary<string, object?> { ["text"] = "across" })));
        // B's upstream got B's credential, and neither A's JWT-SVID nor any Authorization header.
        var reached = Assert.Single(B.Upstream.Requests, r => r.Body.Contains("\"across\"", StringComparison.Ordinal));
        Assert.Equal(_bSecretValue, reached.Header("X-Api-Key"));
        Assert.Null(reached.Header("Authorization"));
        Assert.Equal("", Text(await client.Client.CallToolAsync("whoami", new Dictionary<string, object?>())));

        // Each side audited its part: A the agent's call carried with a JWT-SVID, B the agent via A's edge.
        await A.FlushAuditAsync();
        await _ingress.Services.GetRequiredService<AuditShipper>().FlushAsync();
        var inA = await A.AuditAsync($"workload={Uri.EscapeDataString(agent)}&server={aServer}");
        Assert.Contains(inA, r => r.GetProperty("allowed").GetBoolean() && r.GetProperty("name").GetString() == "echo"
            && r.GetProperty("credentialSource").GetString() == "jwt-svid" && r.GetProperty("auth").GetString() == "x509-svid");
        var inB = await B.AuditAsync($"workload={Uri.EscapeDataString(agent)}&server={_bServer}");
        var aEdge = A.EdgeApp.Services.GetRequiredService<NodeIdentity>().Current.Id.ToString();
        Assert.Contains(inB, r => r.GetProperty("allowed").GetBoolean() && r.GetProperty("name").GetString() == "echo"
            && r.GetProperty("via").GetString() == aEdge && r.GetProperty("auth").GetString() == "jwt-svid"
            && r.GetProperty("credentialSource").GetString() == "local" && r.GetProperty("bundleSequence").GetInt64() >= 1);

        // B takes the grant away: B denies the very next call (A still allows it).
        await GrantInB("whoami");
        var deniedByB = await Assert.ThrowsAsync<McpProtocolException>(() => client.Client.CallToolAsync("echo", new Dictionary<string, object?> { ["text"] = "after-b" }).AsTask());
        Assert.Contains("no-matching-allow", deniedByB.Message, StringComparison.Ordinal);
        // A takes it away: A denies it, and nothing reaches B.
        await GrantInB("echo", "whoami");
        await GrantInA("whoami");
        var deniedByA = await Assert.ThrowsAsync<McpProtocolException>(() => client.Client.CallToolAsync("echo", new Dictionary<string, object?> { ["text"] = "after-a" }).AsTask());
        Assert.Contains("no-matching-allow", deniedByA.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(B.Upstream.Requests, r => r.Body.Contains("after-", StringComparison.Ordinal));
        await _ingress.Services.GetRequiredService<AuditShipper>().FlushAsync();
        Assert.Contains(await B.AuditAsync($"workload={Uri.EscapeDataString(agent)}&server={_bServer}"),
            r => !r.GetProperty("allowed").GetBoolean() && r.GetProperty("reason").GetString() == "no-matching-allow");
    }

    [Fact]
    public async Task The_ingress_edge_admits_a_federated_edge_only_with_a_valid_JWT_SVID_for_its_own_domains_agent_and_this_server()
    {
        var agent = $"spiffe://{FabricFixture.TrustDomain}/agents/{FabricFixture.Unique("carried")}";
        await B.PutAsync($"/v1/policies/{FabricFixture.Unique("pol")}", new { subjects = new[] { agent, $"spiffe://{OtherDomainFabric.Domain}/agents/*" }, rules = new[] { new { server = _bServer, effect = "allow" } } });
        // The transport a malicious peer would have: A's real edge SVID (key included).
        using var asAEdge = B.AgentHttpClient(A.EdgeApp.Services.GetRequiredService<NodeIdentity>().Current.Certificate);
        var body = McpClients.StatelessRequest(1, "tools/call", "\"name\":\"echo\",\"arguments\":{\"text\":\"carried\"}");
        async Task<HttpResponseMessage> Send(string? token, HttpClient? client = null, Uri? url = null)
        {
            var headers = McpClients.StatelessHeaders("tools/call", "echo");
            if (token is not null)
            {
                headers["Authorization"] = "Bearer " + token;
            }
            return await McpClients.PostAsync(client ?? asAEdge, url ?? IngressUrl(_bServer), body, headers);
        }

        var refusals = new List<(string Case, HttpStatusCode Status, string Detail)>();
        foreach (var (name, token) in new (string, string?)[]
        {
            ("none", null),
            ("garbage", "not-a-jwt"),
            ("another server's audience", await MintAsync(A, agent, $"spiffe://{OtherDomainFabric.Domain}/mcp/another")),
            ("B's own agent, minted by B", await MintAsync(B, $"spiffe://{OtherDomainFabric.Domain}/agents/insider", Audience)),
        })
        {
            using var response = await Send(token);
            using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"{name}: {(int)response.StatusCode} {problem.RootElement}");
            Assert.Equal("invalid-jwt-svid", problem.RootElement.GetProperty("reason").GetString());
            refusals.Add((name, response.StatusCode, problem.RootElement.GetProperty("detail").GetString()!));
        }
        Assert.Contains("vouches only for its own trust domain", refusals[3].Detail, StringComparison.Ordinal);

        // The same token and transport on an edge of B that is not an ingress: A's edge is no agent there.
        var valid = await MintAsync(A, agent, Audience);
        using (var notIngress = B.AgentHttpClient(A.EdgeApp.Services.GetRequiredService<NodeIdentity>().Current.Certificate))
        using (var refused = await Send(valid, notIngress, B.McpUrl(_bServer)))
        {
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
            Assert.Contains("reserved-identity", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
        // With a valid token the same transport is admitted: each refusal above was the token's fault.
        B.Upstream.ClearRequests();
        using (var admitted = await Send(valid))
        {
            Assert.Equal(HttpStatusCode.OK, admitted.StatusCode);
            Assert.Contains("carried", await admitted.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
        Assert.Single(B.Upstream.Requests, r => r.Body.Contains("carried", StringComparison.Ordinal));

        // Every refusal is on record under the carrying edge's ID, with the reason.
        await _ingress.Services.GetRequiredService<AuditShipper>().FlushAsync();
        var aEdge = A.EdgeApp.Services.GetRequiredService<NodeIdentity>().Current.Id.ToString();
        var records = await B.AuditAsync($"workload={Uri.EscapeDataString(aEdge)}&server={_bServer}");
        Assert.True(records.Count(r => r.GetProperty("reason").GetString() == "invalid-jwt-svid") >= refusals.Count, string.Join("\n", records));
    }

    private static async Task<string> MintAsync(FabricFixture fabric, string spiffeId, string audience)
    {
        using var response = await fabric.Admin.PostAsJsonAsync("/v1/jwt-svids", new { spiffeId, audience, ttlSeconds = 300 });
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, body);
        using var json = JsonDocument.Parse(body);
        return json.RootElement.GetProperty("token").GetString()!;
    }

    private static Task<JsonElement> FederateAsync(FabricFixture consumer, FabricFixture publisher, string endpointSpiffeId, string trustDomain) =>
        FederationRequests.FederateAsync(consumer.Admin, trustDomain, FederationRequests.BundleEndpoint(publisher.SiloServices), endpointSpiffeId, publisher.Admin);

    private static string Text(CallToolResult result) => Assert.IsType<TextContentBlock>(Assert.Single(result.Content)).Text;
}
