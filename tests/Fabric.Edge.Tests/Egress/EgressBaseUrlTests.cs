using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Fabric.Edge.Tests.Fixtures;
using Fabric.Edge.Tests.EndToEnd;

namespace Fabric.Edge.Tests.Egress;

/// <summary>
/// Issue 11 §1 and §2a: an MCP server's own outbound calls through the edge in base-URL mode, driven by curl as the
/// third-party client (its SVID as the client certificate, the fabric's bundle as its CA). The fake SaaS API is
/// reached only where an egress rule allows (server identity, target, method, path), receives the target's credential
/// and never the server's own header, and its echo of the key reaches the server masked. Every refusal is audited.
/// </summary>
[Collection(FabricCollection.Name)]
public sealed class EgressBaseUrlTests(FabricFixture fabric) : IAsyncLifetime
{
    private FakeSaasApi _api = null!;
    private string _directory = null!;
    private string _target = null!;
    private string _secretValue = null!;
    private string _identity = null!;
    private string _policy = null!;

    public async Task InitializeAsync()
    {
        _api = await FakeSaasApi.StartAsync();
        _directory = Path.Combine(Path.GetTempPath(), "egress-curl-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_directory);
        _target = FabricFixture.Unique("saas");
        var secret = FabricFixture.Unique("saas-key");
        _secretValue = "ghp_" + Guid.NewGuid().ToString("N");
        await fabric.PutAsync($"/v1/secrets/{secret}", new { value = _secretValue });
        await fabric.PutAsync($"/v1/egress/{_target}", new
        {
            upstream = _api.BaseUrl.ToString(),
            credential = new { source = "local", @ref = secret, inject = new { header = "Authorization", format = "Bearer {secret}" } },
            tls = new { caFile = _api.CaFile },
        });
        _identity = $"spiffe://{FabricFixture.TrustDomain}/servers/{FabricFixture.Unique("github-mcp")}";
        _policy = FabricFixture.Unique("egress-pol");
        await AllowAsync(new { egress = _target, effect = "allow", methods = new[] { "GET" }, paths = new[] { "/repos/acme-corp/*" } });
        using var svid = await fabric.MintSvidAsync(_identity);
        await File.WriteAllTextAsync(Path.Combine(_directory, "svid.pem"), svid.ExportCertificatePem());
        await File.WriteAllTextAsync(Path.Combine(_directory, "key.pem"), svid.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem());
        await File.WriteAllTextAsync(Path.Combine(_directory, "bundle.pem"), string.Concat(fabric.Bundle.Select(c => c.ExportCertificatePem() + "\n")));
    }

    public async Task DisposeAsync()
    {
        await _api.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }

    private Task AllowAsync(params object[] rules) => fabric.PutAsync($"/v1/policies/{_policy}", new { subjects = new[] { _identity }, rules });

    private string Url(string pathAndQuery) => new Uri(fabric.EdgeUrl, "/egress/" + _target).ToString() + pathAndQuery;

    [Fact]
    public async Task An_allowed_call_reaches_the_api_with_the_targets_credential_and_the_echo_comes_back_masked()
    {
        var (status, headers, body) = await CurlAsync("GET", Url("/repos/acme-corp/widgets?per_page=5&token=t"), "-H", "Authorization: Bearer stolen-by-the-server");

        Assert.Equal(200, status);
        var reached = Assert.Single(_api.Requests);
        Assert.Equal("/repos/acme-corp/widgets?per_page=5&token=t", reached.RawTarget);
        Assert.Equal("Bearer " + _secretValue, reached.Authorization); // the target's credential, not the server's header
        Assert.Equal("identity", reached.Headers["Accept-Encoding"]);
        // The API echoed the key in its body and a header: the server gets neither.
        Assert.DoesNotContain(_secretValue, body, StringComparison.Ordinal);
        Assert.DoesNotContain(_secretValue, headers, StringComparison.Ordinal);
        Assert.Equal("/repos/acme-corp/widgets?per_page=5&token=t", JsonDocument.Parse(body).RootElement.GetProperty("path").GetString());

        var record = Assert.Single(await fabric.AuditAsync($"workload={Uri.EscapeDataString(_identity)}&server={_target}"));
        Assert.Equal("egress", record.GetProperty("kind").GetString());
        Assert.True(record.GetProperty("allowed").GetBoolean());
        Assert.Equal("GET", record.GetProperty("method").GetString());
        Assert.Equal("/repos/acme-corp/widgets", record.GetProperty("name").GetString()); // the path, no query values
        Assert.Equal("local", record.GetProperty("credentialSource").GetString());
        Assert.True(record.GetProperty("credentialReflected").GetInt32() >= 2);
        Assert.Equal(200, record.GetProperty("upstreamStatus").GetInt32());
        Assert.DoesNotContain(_secretValue, record.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("GET", "/repos/other-org/widgets", "egress-not-allowed")]         // outside the path glob
    [InlineData("POST", "/repos/acme-corp/widgets", "egress-not-allowed")]        // a method the rule does not list
    [InlineData("GET", "/repos/acme-corp/../other-org/x", "egress-not-allowed")]  // dot segments: decided one way, read another
    [InlineData("GET", "/repos/acme-corp/%2E%2E/other-org/x", "egress-not-allowed")]
    [InlineData("GET", "/repos/acme-corp%2Fx/../../other-org", "egress-not-allowed")]
    [InlineData("GET", "/repos/acme%2Dcorp/widgets", "egress-not-allowed")]       // an escaped unreserved character
    [InlineData("GET", "/repos//acme-corp/widgets", "egress-not-allowed")]
    [InlineData("GET", "/repos/acme-corp/a%5Cb", "egress-not-allowed")]          // an escaped backslash
    public async Task A_call_outside_the_rule_or_with_a_path_an_upstream_could_read_differently_is_refused_and_audited(string method, string path, string reason)
    {
        var (status, _, body) = await CurlAsync(method, Url(path));

        Assert.Equal(403, status);
        Assert.Equal(reason, JsonDocument.Parse(body).RootElement.GetProperty("reason").GetString());
        Assert.Empty(_api.Requests);
        Assert.Contains(await fabric.AuditAsync($"workload={Uri.EscapeDataString(_identity)}&server={_target}"),
            r => !r.GetProperty("allowed").GetBoolean() && r.GetProperty("reason").GetString() == reason && r.GetProperty("kind").GetString() == "egress");
    }

    [Fact]
    public async Task An_unknown_target_is_404_and_an_identity_without_egress_rules_is_denied_by_default()
    {
        var (status, _, body) = await CurlAsync("GET", new Uri(fabric.EdgeUrl, "/egress/no-such-target/x").ToString());
        Assert.Equal(404, status);
        Assert.Equal("unknown-egress-target", JsonDocument.Parse(body).RootElement.GetProperty("reason").GetString());

        // Another identity (an agent's) holds no egress rule on the target: default deny.
        using var agent = await fabric.MintSvidAsync($"spiffe://{FabricFixture.TrustDomain}/agents/{FabricFixture.Unique("agent")}");
        await File.WriteAllTextAsync(Path.Combine(_directory, "svid.pem"), agent.ExportCertificatePem());
        await File.WriteAllTextAsync(Path.Combine(_directory, "key.pem"), agent.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem());
        (status, _, body) = await CurlAsync("GET", Url("/repos/acme-corp/widgets"));
        Assert.Equal(403, status);
        Assert.Equal("egress-not-allowed", JsonDocument.Parse(body).RootElement.GetProperty("reason").GetString());
        Assert.Empty(_api.Requests);
    }

    [Fact]
    public async Task A_rule_change_is_in_force_on_the_next_request_and_a_deny_wins()
    {
        Assert.Equal(200, (await CurlAsync("GET", Url("/repos/acme-corp/widgets"))).Status);

        await AllowAsync(
            new { egress = _target, effect = "allow", methods = new[] { "GET" }, paths = new[] { "/repos/acme-corp/*" } },
            new { egress = "*", effect = "deny", paths = new[] { "/repos/acme-corp/secrets*" } });
        Assert.Equal(403, (await CurlAsync("GET", Url("/repos/acme-corp/secrets"))).Status);
        Assert.Equal(200, (await CurlAsync("GET", Url("/repos/acme-corp/widgets"))).Status);

        await AllowAsync(new { egress = _target, effect = "deny" });
        var (status, _, body) = await CurlAsync("GET", Url("/repos/acme-corp/widgets"));
        Assert.Equal(403, status);
        Assert.Equal("explicit-deny", JsonDocument.Parse(body).RootElement.GetProperty("reason").GetString());
        Assert.Equal(2, _api.Requests.Count);
    }

    [Fact]
    public async Task A_placeholder_for_the_target_becomes_its_secret_and_one_for_another_target_is_refused()
    {
        var (status, _, body) = await CurlAsync("GET", Url("/repos/acme-corp/widgets"), "-H", $"X-Api-Key: fabric:{_target}");
        Assert.Equal(200, status);
        Assert.Equal(_secretValue, Assert.Single(_api.Requests).Headers["X-Api-Key"]);
        Assert.DoesNotContain(_secretValue, body, StringComparison.Ordinal);

        foreach (var placeholder in new[] { "fabric:another-target", $"FABRIC:{_target}", $"fabric:{_target}x" })
        {
            (status, _, body) = await CurlAsync("GET", Url("/repos/acme-corp/widgets"), "-H", $"X-Api-Key: Bearer {placeholder}");
            Assert.Equal(403, status);
            Assert.Equal("egress-not-allowed", JsonDocument.Parse(body).RootElement.GetProperty("reason").GetString());
        }
        Assert.Single(_api.Requests);
    }

    [Fact]
    public async Task A_hostile_api_and_a_hostile_server_get_nothing_out_of_the_edge()
    {
        // The server's own forwarding, host and cookie headers never reach the API (HTTP/1.1: where Connection lists hop-by-hop headers).
        var (status, _, _) = await CurlAsync("GET", Url("/repos/acme-corp/headers"), "--http1.1", "-H", "Host: evil.example", "-H", "X-Forwarded-For: 10.9.9.9",
            "-H", "Forwarded: for=10.9.9.9", "-H", "Cookie: session=stolen", "-H", "Proxy-Authorization: Basic eDp5", "-H", "Connection: X-Drop", "-H", "X-Drop: 1");
        Assert.Equal(200, status);
        var reached = Assert.Single(_api.Requests);
        Assert.Equal(_api.BaseUrl.Authority, reached.Headers["Host"]);
        foreach (var header in new[] { "X-Forwarded-For", "Forwarded", "Cookie", "Proxy-Authorization", "X-Drop" })
        {
            Assert.False(reached.Headers.ContainsKey(header), header);
        }

        // A compressed answer cannot be scanned for the key: refused, nothing of it passes.
        (status, _, var body) = await CurlAsync("GET", Url("/repos/acme-corp/gzip"));
        Assert.Equal(502, status);
        Assert.Equal("upstream-protocol-error", JsonDocument.Parse(body).RootElement.GetProperty("reason").GetString());

        // A redirect is handed back, not followed, and the key it carries in its Location is masked.
        (status, var headers, _) = await CurlAsync("GET", Url("/repos/acme-corp/redirect"));
        Assert.Equal(302, status);
        Assert.DoesNotContain(_secretValue, headers, StringComparison.Ordinal);
        Assert.Equal(3, _api.Requests.Count);

        // And the key is in no line the edge logged.
        Assert.DoesNotContain(fabric.EdgeLogs.Lines, line => line.Contains(_secretValue, StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_outbound_call_that_continues_an_agent_calls_trace_names_that_call_as_its_parent()
    {
        // An agent's tools/call through the edge: the upstream MCP server sees the edge's trace context.
        var scenario = await Fabric.Edge.Tests.EndToEnd.Scenario.CreateAsync(fabric, s => [new { server = s, effect = "allow", tools = new[] { "echo" } }]);
        var marker = "caused-" + Guid.NewGuid().ToString("N");
        await using (var client = await scenario.ConnectAsync(ProtocolGeneration.Stateless2026))
        {
            await client.Client.CallToolAsync("echo", new Dictionary<string, object?> { ["text"] = marker });
        }
        var traceparent = fabric.Upstream.Requests.Last(r => r.Body.Contains(marker, StringComparison.Ordinal)).Header("traceparent");
        Assert.NotNull(traceparent);

        // The MCP server propagates it on its own outbound call (as OpenTelemetry-instrumented servers do).
        Assert.Equal(200, (await CurlAsync("GET", Url("/repos/acme-corp/caused"), "-H", "traceparent: " + traceparent)).Status);
        Assert.Equal(200, (await CurlAsync("GET", Url("/repos/acme-corp/uncaused"))).Status);

        var call = Assert.Single(await fabric.AuditAsync($"workload={Uri.EscapeDataString(scenario.Agent)}&server={scenario.Server}"),
            r => r.TryGetProperty("name", out var name) && name.GetString() == "echo");
        var egress = await fabric.AuditAsync($"workload={Uri.EscapeDataString(_identity)}&server={_target}");
        Assert.Equal(call.GetProperty("id").GetGuid(), Assert.Single(egress, r => r.GetProperty("name").GetString() == "/repos/acme-corp/caused").GetProperty("parentRecordId").GetGuid());
        Assert.False(Assert.Single(egress, r => r.GetProperty("name").GetString() == "/repos/acme-corp/uncaused").TryGetProperty("parentRecordId", out _));

        // The agent call lists the egress calls it caused.
        var id = call.GetProperty("id").GetGuid();
        Assert.Equal("/repos/acme-corp/caused", Assert.Single(await fabric.AuditAsync($"parent={id}")).GetProperty("name").GetString());
        using var bad = await fabric.Admin.GetAsync("/v1/audit?parent=not-an-id");
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, bad.StatusCode);
    }

    /// <summary>curl as the MCP server's HTTP client: mTLS with the server's SVID, the fabric's bundle as CA, the path sent as is.</summary>
    private async Task<(int Status, string Headers, string Body)> CurlAsync(string method, string url, params string[] extra)
    {
        var result = await Curl.RunAsync(_directory, new[] { "--path-as-is", "--cacert", Path.Combine(_directory, "bundle.pem"),
            "--cert", Path.Combine(_directory, "svid.pem"), "--key", Path.Combine(_directory, "key.pem"), "-X", method }.Concat(extra).Append(url));
        Assert.True(result.ExitCode == 0, $"curl exited {result.ExitCode}: {result.Error}");
        return (result.Status, result.Headers, result.Body);
    }
}
