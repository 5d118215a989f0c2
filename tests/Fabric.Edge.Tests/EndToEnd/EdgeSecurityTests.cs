using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Fabric.Contracts.Identity;
using Fabric.Edge.Tests.Fixtures;
using ModelContextProtocol.Protocol;

namespace Fabric.Edge.Tests.EndToEnd;

/// <summary>Who may connect, which upstreams the edge trusts, and where secrets must never show up.</summary>
[Collection(FabricCollection.Name)]
public sealed class EdgeSecurityTests(FabricFixture fabric)
{
    private static object Allow(string server, params string[] tools) => new { server, effect = "allow", tools };

    private static string Discover => McpClients.StatelessRequest(1, "server/discover");

    [Fact]
    public async Task A_client_without_a_certificate_is_refused_at_the_handshake()
    {
        var scenario = await Scenario.CreateAsync(fabric, s => [Allow(s, "echo")]);
        using var http = fabric.AgentHttpClient(null);

        await Assert.ThrowsAnyAsync<HttpRequestException>(() =>
            McpClients.PostAsync(http, fabric.McpUrl(scenario.Server), Discover, McpClients.StatelessHeaders("server/discover")));
        Assert.DoesNotContain(fabric.Upstream.Requests, r => r.Body.Contains(scenario.Server, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_certificate_from_another_ca_with_the_same_spiffe_id_is_refused()
    {
        var scenario = await Scenario.CreateAsync(fabric, s => [Allow(s, "echo")]);
        using var forged = ForgedSvid(scenario.Agent);
        using var http = fabric.AgentHttpClient(forged);

        await Assert.ThrowsAnyAsync<HttpRequestException>(() =>
            McpClients.PostAsync(http, fabric.McpUrl(scenario.Server), Discover, McpClients.StatelessHeaders("server/discover")));
    }

    [Theory]
    [InlineData("1.1")]
    [InlineData("2.0")]
    public async Task The_edge_serves_http1_and_http2(string version)
    {
        var scenario = await Scenario.CreateAsync(fabric, s => [Allow(s, "echo")]);
        using var http = fabric.AgentHttpClient(scenario.Certificate);
        using var request = new HttpRequestMessage(HttpMethod.Post, fabric.McpUrl(scenario.Server))
        {
            Version = Version.Parse(version),
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new StringContent(Discover, System.Text.Encoding.UTF8, "application/json"),
        };
        request.Headers.Accept.ParseAdd("application/json, text/event-stream");
        foreach (var (name, value) in McpClients.StatelessHeaders("server/discover"))
        {
            request.Headers.Add(name, value);
        }

        using var response = await http.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(Version.Parse(version), response.Version);
    }

    [Fact]
    public async Task An_upstream_presenting_another_spiffe_id_is_refused_with_502_and_audited()
    {
        var impostorId = $"spiffe://{FabricFixture.TrustDomain}/mcp/{FabricFixture.Unique("impostor")}";
        await using var impostor = await TestMcpServer.StartAsync(new TestMcpServerOptions
        {
            ServerCertificate = await MintServerSvidAsync(impostorId),
            ClientCertificateRequirement = _ => true,
        });
        var expectedId = $"spiffe://{FabricFixture.TrustDomain}/mcp/{FabricFixture.Unique("expected")}";
        var scenario = await Scenario.CreateAsync(fabric, s => [Allow(s, "echo")], HttpsLoopback(impostor), expectedId);
        using var http = fabric.AgentHttpClient(scenario.Certificate);

        using var response = await McpClients.PostAsync(http, fabric.McpUrl(scenario.Server), Discover, McpClients.StatelessHeaders("server/discover"));

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("upstream-identity-mismatch", problem.RootElement.GetProperty("reason").GetString());
        Assert.Empty(impostor.Requests);
        var audit = await fabric.AuditAsync($"workload={Uri.EscapeDataString(scenario.Agent)}&decision=deny");
        Assert.Contains(audit, r => r.GetProperty("reason").GetString() == "upstream-identity-mismatch");
    }

    [Fact]
    public async Task An_upstream_with_the_pinned_spiffe_id_is_called_over_mtls_with_the_edges_svid()
    {
        var upstreamId = $"spiffe://{FabricFixture.TrustDomain}/mcp/{FabricFixture.Unique("tools")}";
        X509Certificate2? presented = null;
        await using var upstream = await TestMcpServer.StartAsync(new TestMcpServerOptions
        {
            ServerCertificate = await MintServerSvidAsync(upstreamId),
            ClientCertificateRequirement = client =>
            {
                presented = client;
                return client is not null;
            },
        });
        var scenario = await Scenario.CreateAsync(fabric, s => [Allow(s, "echo")], HttpsLoopback(upstream), upstreamId);
        await using var agent = await scenario.ConnectAsync(ProtocolGeneration.Stateless2026);

        var result = await agent.Client.CallToolAsync("echo", new Dictionary<string, object?> { ["text"] = "pinned" });

        Assert.Equal("pinned", Assert.IsType<TextContentBlock>(Assert.Single(result.Content)).Text);
        var edgeSvid = X509SvidValidator.Validate(presented!, null, TrustBundleSet.FromPem(FabricFixture.TrustDomain, await fabric.Admin.GetStringAsync("/v1/bundle")), DateTimeOffset.UtcNow);
        Assert.Equal($"spiffe://{FabricFixture.TrustDomain}/fabric/edge/e2e", edgeSvid.Id?.ToString());
    }

    [Fact]
    public async Task The_secret_value_appears_in_no_response_log_line_audit_record_or_api_response()
    {
        var scenario = await Scenario.CreateAsync(fabric, s => [Allow(s, "echo", "add"), new { server = s, effect = "deny", tools = new[] { "delete_*" } }]);
        var seen = new List<string>();
        using (var http = fabric.AgentHttpClient(scenario.Certificate))
        {
            var url = fabric.McpUrl(scenario.Server);
            foreach (var (body, method, name) in new[]
            {
                (Discover, "server/discover", (string?)null),
                (McpClients.StatelessRequest(2, "tools/list"), "tools/list", null),
                (McpClients.StatelessRequest(3, "tools/call", "\"name\":\"echo\",\"arguments\":{\"text\":\"x\"}"), "tools/call", "echo"),
                (McpClients.StatelessRequest(4, "tools/call", "\"name\":\"delete_all_files\",\"arguments\":{\"path\":\"/\"}"), "tools/call", "delete_all_files"),
            })
            {
                using var response = await McpClients.PostAsync(http, url, body, McpClients.StatelessHeaders(method, name));
                seen.Add(response.ToString());
                seen.Add(await response.Content.ReadAsStringAsync());
            }
        }
        // Rotate the secret too, so the store's change path is covered by the scan.
        await fabric.PutAsync($"/v1/secrets/{scenario.Secret}", new { value = scenario.SecretValue + "-rotated" });
        await fabric.FlushAuditAsync();
        foreach (var path in new[] { "/v1/secrets", "/v1/servers", $"/v1/servers/{scenario.Server}", "/v1/policies", "/v1/audit?limit=1000", "/v1/bundle" })
        {
            seen.Add(await fabric.Admin.GetStringAsync(path));
        }

        Assert.Contains(fabric.Upstream.Requests, r => r.Header("Authorization") == "Bearer " + scenario.SecretValue);
        Assert.All(seen, text => Assert.DoesNotContain(scenario.SecretValue, text, StringComparison.Ordinal));
        Assert.All(fabric.EdgeLogs.Lines, line => Assert.DoesNotContain(scenario.SecretValue, line, StringComparison.Ordinal));
        Assert.All(fabric.SiloLogs.Lines, line => Assert.DoesNotContain(scenario.SecretValue, line, StringComparison.Ordinal));
        Assert.NotEmpty(fabric.EdgeLogs.Lines);
    }

    private static Uri HttpsLoopback(TestMcpServer server) => new UriBuilder(server.Endpoint) { Scheme = "https", Host = "127.0.0.1" }.Uri;

    private async Task<X509Certificate2> MintServerSvidAsync(string spiffeId)
    {
        using var response = await fabric.Admin.PostAsync("/v1/svids", System.Net.Http.Json.JsonContent.Create(new
        {
            spiffeId,
            ttlSeconds = 3600,
            dnsNames = new[] { "localhost" },
            ipAddresses = new[] { "127.0.0.1" },
        }));
        response.EnsureSuccessStatusCode();
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return SvidPem.LoadCertificate(json.RootElement.GetProperty("certificatePem").GetString()!, json.RootElement.GetProperty("privateKeyPem").GetString()!);
    }

    /// <summary>A well-formed X.509-SVID for <paramref name="spiffeId"/>, signed by a CA the fabric does not trust.</summary>
    private static X509Certificate2 ForgedSvid(string spiffeId)
    {
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=rogue", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        using var ca = caRequest.CreateSelfSigned(DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddDays(1));

        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("O=SPIFFE", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddUri(new Uri(spiffeId));
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.2")], false));
        using var leaf = request.Create(ca, DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddHours(1), RandomNumberGenerator.GetBytes(16));
        return leaf.CopyWithPrivateKey(key);
    }
}
