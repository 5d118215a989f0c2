using System.Text;
using System.Text.Json;
using Fabric.Contracts.Identity;
using Fabric.Edge.Launch;
using Fabric.Edge.Tests.Egress;
using Fabric.Edge.Tests.Fixtures;
using Microsoft.Extensions.DependencyInjection;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace Fabric.Edge.Tests.Launch;

/// <summary>
/// Issue 11 §4: a local MCP server on the SDK's stdio transport, launched by the edge and exposed at
/// <c>/mcp/{server}</c> like a remote one (decisions, list filtering, audit, both client generations), holding no
/// secret: its environment is built by the edge (scanned here in <c>/proc/&lt;pid&gt;/environ</c>), its outbound calls go
/// through the egress proxy with a per-process credential, the API gets the key, and the server gets it masked.
/// </summary>
[Collection(FabricCollection.Name)]
public sealed class LaunchedServerTests(FabricFixture fabric) : IAsyncLifetime
{
    private FakeSaasApi _api = null!;
    private string _target = null!;
    private string _secretValue = null!;

    private LaunchedServers Launched => fabric.EdgeApp.Services.GetRequiredService<LaunchedServers>();

    public async Task InitializeAsync()
    {
        _api = await FakeSaasApi.StartAsync();
        _target = FabricFixture.Unique("saas");
        var secret = FabricFixture.Unique("saas-key");
        _secretValue = "sk_live_" + Guid.NewGuid().ToString("N");
        await fabric.PutAsync($"/v1/secrets/{secret}", new { value = _secretValue });
        await fabric.PutAsync($"/v1/egress/{_target}", new
        {
            upstream = _api.BaseUrl.ToString(),
            credential = new { source = "local", @ref = secret, inject = new { header = "Authorization", format = "Bearer {secret}" } },
            tls = new { caFile = _api.CaFile },
        });
    }

    public async Task DisposeAsync() => await _api.DisposeAsync();

    private static string Agent() => $"spiffe://{FabricFixture.TrustDomain}/agents/{FabricFixture.Unique("agent")}";

    /// <summary>Registers the demo stdio server, its egress rule and an agent policy; returns the server name and identity.</summary>
    private async Task<(string Server, string Identity)> RegisterAsync(bool perWorkload, string[] agents, string[] tools, int idleTimeoutSeconds = 300)
    {
        var server = FabricFixture.Unique("stdio");
        var identity = $"spiffe://{FabricFixture.TrustDomain}/mcp/{server}";
        await fabric.PutAsync($"/v1/servers/{server}", new
        {
            identity,
            launch = new
            {
                command = "dotnet",
                args = new[] { StdioServers.DemoServerDll },
                env = new Dictionary<string, string> { ["API_KEY"] = $"fabric:{_target}", ["DEMO_MODE"] = "launched" },
                perWorkload,
                idleTimeoutSeconds,
            },
        });
        await fabric.PutAsync($"/v1/policies/{FabricFixture.Unique("stdio-agents")}", new
        {
            subjects = agents,
            rules = new object[] { new { server, effect = "allow", tools } },
        });
        await fabric.PutAsync($"/v1/policies/{FabricFixture.Unique("stdio-egress")}", new
        {
            subjects = new[] { identity },
            rules = new object[] { new { egress = _target, effect = "allow", methods = new[] { "GET" }, paths = new[] { "/api/*" } } },
        });
        return (server, identity);
    }

    private StdioProcess[] ProcessesOf(string server) => [.. Launched.Running.Where(p => p.Key.Server == server)];

    [Theory]
    [InlineData(ProtocolGeneration.Sessions2025)]
    [InlineData(ProtocolGeneration.Stateless2026)]
    public async Task An_agent_calls_a_launched_stdio_server_with_the_sdk_and_sees_only_what_it_may(ProtocolGeneration generation)
    {
        var agent = Agent();
        var (server, _) = await RegisterAsync(perWorkload: false, [agent], ["echo"]);
        using var svid = await fabric.MintSvidAsync(agent);
        await using var client = await fabric.ConnectAsync(server, svid, generation);

        // The process lists four tools; the agent may use one.
        var tools = await client.Client.ListToolsAsync();
        Assert.Equal(["echo"], tools.Select(t => t.Name));
        var echoed = await client.Client.CallToolAsync("echo", new Dictionary<string, object?> { ["text"] = "over stdio" });
        Assert.Equal("over stdio", Assert.IsType<TextContentBlock>(Assert.Single(echoed.Content)).Text);

        // A denied tool is decided at the edge: the process never hears of it.
        var denied = await Assert.ThrowsAnyAsync<Exception>(() => client.Client.CallToolAsync("crash").AsTask());
        Assert.Contains("no-matching-allow", denied.ToString(), StringComparison.Ordinal);
        var process = Assert.Single(ProcessesOf(server));
        Assert.False(process.HasExited);
        Assert.Equal(generation == ProtocolGeneration.Sessions2025 ? Contracts.Policy.McpGeneration.Session : Contracts.Policy.McpGeneration.Stateless, process.Key.Generation);

        var records = await fabric.AuditAsync($"server={server}&workload={Uri.EscapeDataString(agent)}");
        Assert.Contains(records, r => NameOf(r) == "echo" && r.GetProperty("allowed").GetBoolean());
        Assert.Contains(records, r => NameOf(r) == "crash" && r.GetProperty("reason").GetString() == "no-matching-allow");
    }

    [Fact]
    public async Task The_launched_process_holds_no_secret_and_its_outbound_call_gets_the_key_at_the_edge_masked_on_return()
    {
        // A secret in the edge's own environment must not be inherited either.
        var inherited = "FABRIC_TEST_INHERITED_" + Guid.NewGuid().ToString("N")[..8];
        var inheritedValue = Guid.NewGuid().ToString("N");
        Environment.SetEnvironmentVariable(inherited, inheritedValue);
        var agent = Agent();
        var (server, identity) = await RegisterAsync(perWorkload: true, [agent], ["call_api"]);
        using var svid = await fabric.MintSvidAsync(agent);
        await using var client = await fabric.ConnectAsync(server, svid, ProtocolGeneration.Sessions2025);

        var result = await client.Client.CallToolAsync("call_api", new Dictionary<string, object?> { ["url"] = new Uri(_api.BaseUrl, "/api/echo").ToString() });
        var text = Assert.IsType<TextContentBlock>(Assert.Single(result.Content)).Text;
        Assert.StartsWith("200 ", text, StringComparison.Ordinal);

        // The API got the real key (the placeholder filled at the edge); the server got its echo masked.
        var reached = Assert.Single(_api.Requests);
        Assert.Equal("Bearer " + _secretValue, reached.Authorization);
        Assert.DoesNotContain(_secretValue, text, StringComparison.Ordinal);

        // Nothing secret in the process's environment: not the key, not the edge's own variables; the proxy and CA are set.
        var process = Assert.Single(ProcessesOf(server));
        var environ = await File.ReadAllTextAsync($"/proc/{process.ProcessId}/environ");
        var variables = environ.Split('\0', StringSplitOptions.RemoveEmptyEntries).ToDictionary(v => v[..v.IndexOf('=')], v => v[(v.IndexOf('=') + 1)..]);
        Assert.DoesNotContain(_secretValue, environ, StringComparison.Ordinal);
        Assert.DoesNotContain(inheritedValue, environ, StringComparison.Ordinal);
        Assert.DoesNotContain(FabricFixture.AdminToken, environ, StringComparison.Ordinal);
        Assert.False(variables.ContainsKey("NO_PROXY") || variables.ContainsKey("no_proxy"));
        Assert.Equal($"fabric:{_target}", variables["API_KEY"]);
        Assert.StartsWith("http://p-", variables["HTTPS_PROXY"], StringComparison.Ordinal);
        var trusted = SvidPem.LoadCertificates(await File.ReadAllTextAsync(variables["SSL_CERT_FILE"]));
        Assert.StartsWith("CN=Fabric egress CA", Assert.Single(trusted).Subject, StringComparison.Ordinal);
        Assert.Equal(variables["SSL_CERT_FILE"], variables["REQUESTS_CA_BUNDLE"]);
        Assert.Equal(variables["SSL_CERT_FILE"], variables["NODE_EXTRA_CA_CERTS"]);
        Assert.Equal(["egress-ca.pem"], Directory.GetFiles(variables["SSL_CERT_DIR"]).Select(Path.GetFileName));
        Assert.Subset(new HashSet<string> { "PATH", "HOME", "LANG", "TZ", "API_KEY", "DEMO_MODE", "HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "https_proxy", "http_proxy", "all_proxy",
            "SSL_CERT_FILE", "SSL_CERT_DIR", "NODE_EXTRA_CA_CERTS", "REQUESTS_CA_BUNDLE" }, variables.Keys.ToHashSet());

        // The outbound call is audited under the server's identity, as a child of the agent's call (exact: per workload).
        var call = Assert.Single(await fabric.AuditAsync($"server={server}&workload={Uri.EscapeDataString(agent)}"), r => NameOf(r) == "call_api");
        var egress = Assert.Single(await fabric.AuditAsync($"server={_target}&workload={Uri.EscapeDataString(identity)}"));
        Assert.True(egress.GetProperty("allowed").GetBoolean());
        Assert.Equal(call.GetProperty("id").GetString(), egress.GetProperty("parentRecordId").GetString());
        var children = await fabric.AuditAsync($"parent={call.GetProperty("id").GetString()}");
        Assert.Equal(egress.GetProperty("id").GetString(), Assert.Single(children).GetProperty("id").GetString());
        // The agent's own query nests them: its call, with the outbound call it caused.
        using (var nested = JsonDocument.Parse(await fabric.Admin.GetStringAsync($"/v1/audit?workload={Uri.EscapeDataString(agent)}")))
        {
            var child = Assert.Single(nested.RootElement.GetProperty("children").GetProperty(call.GetProperty("id").GetString()!).EnumerateArray());
            Assert.Equal(egress.GetProperty("id").GetString(), child.GetProperty("id").GetString());
        }

        // Nothing observable carries the key: the edge's log, the audit.
        Assert.DoesNotContain(fabric.EdgeLogs.Lines, l => l.Contains(_secretValue, StringComparison.Ordinal));
        Assert.DoesNotContain(_secretValue, await fabric.Admin.GetStringAsync("/v1/audit?limit=500"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Two_agents_of_a_per_workload_server_get_a_process_each_and_every_outbound_call_names_its_own_agent_call()
    {
        var (a, b) = (Agent(), Agent());
        var (server, identity) = await RegisterAsync(perWorkload: true, [a, b], ["call_api"]);
        var calls = new Dictionary<string, string>();
        foreach (var agent in new[] { a, b })
        {
            using var svid = await fabric.MintSvidAsync(agent);
            await using var client = await fabric.ConnectAsync(server, svid, ProtocolGeneration.Stateless2026);
            await client.Client.CallToolAsync("call_api", new Dictionary<string, object?> { ["url"] = new Uri(_api.BaseUrl, "/api/" + agent.Length).ToString() });
            calls[agent] = Assert.Single(await fabric.AuditAsync($"server={server}&workload={Uri.EscapeDataString(agent)}"),
                r => NameOf(r) == "call_api").GetProperty("id").GetString()!;
        }
        var processes = ProcessesOf(server);
        Assert.Equal(2, processes.Length);
        Assert.Equal(new[] { a, b }.Order(), processes.Select(p => p.Key.Workload!.ToString()).Order());
        Assert.NotEqual(processes[0].ProcessId, processes[1].ProcessId);

        var parents = (await fabric.AuditAsync($"server={_target}&workload={Uri.EscapeDataString(identity)}"))
            .Select(r => r.GetProperty("parentRecordId").GetString()).Order().ToArray();
        Assert.Equal(calls.Values.Order().ToArray(), parents);
    }

    [Fact]
    public async Task A_per_agent_egress_credential_is_leased_for_the_agent_a_per_workload_process_serves_and_for_nobody_else()
    {
        // The target's key is leased per calling agent; the server's placeholder names that target. An API of its own:
        // through the proxy the host names the target, and two targets on one host would be ambiguous.
        await using var api = await FakeSaasApi.StartAsync();
        var target = FabricFixture.Unique("saas-per-agent");
        var secret = FabricFixture.Unique("per-agent-key");
        await fabric.PutAsync($"/v1/secrets/{secret}", new { value = "sk_live_" + Guid.NewGuid().ToString("N") });
        await fabric.PutAsync($"/v1/egress/{target}", new
        {
            upstream = api.BaseUrl.ToString(),
            credential = new { source = "local", @ref = secret, perWorkload = true, inject = new { header = "Authorization", format = "Bearer {secret}" } },
            tls = new { caFile = api.CaFile },
        });
        var (a, b) = (Agent(), Agent());
        var server = FabricFixture.Unique("stdio-per-agent");
        var identity = $"spiffe://{FabricFixture.TrustDomain}/mcp/{server}";
        await fabric.PutAsync($"/v1/servers/{server}", new
        {
            identity,
            launch = new { command = "dotnet", args = new[] { StdioServers.DemoServerDll }, env = new Dictionary<string, string> { ["API_KEY"] = $"fabric:{target}" }, perWorkload = true },
        });
        await fabric.PutAsync($"/v1/policies/{FabricFixture.Unique("per-agent")}", new { subjects = new[] { a, b }, rules = new object[] { new { server, effect = "allow", tools = new[] { "call_api" } } } });
        await fabric.PutAsync($"/v1/policies/{FabricFixture.Unique("per-agent-egress")}", new
        {
            subjects = new[] { identity },
            rules = new object[] { new { egress = target, effect = "allow", methods = new[] { "GET" }, paths = new[] { "/api/*" } } },
        });
        foreach (var agent in new[] { a, b })
        {
            using var svid = await fabric.MintSvidAsync(agent);
            await using var client = await fabric.ConnectAsync(server, svid, ProtocolGeneration.Stateless2026);
            var result = await client.Client.CallToolAsync("call_api", new Dictionary<string, object?> { ["url"] = new Uri(api.BaseUrl, "/api/me").ToString() });
            Assert.StartsWith("200 ", Assert.IsType<TextContentBlock>(Assert.Single(result.Content)).Text, StringComparison.Ordinal);
        }
        var egress = await fabric.AuditAsync($"server={target}&workload={Uri.EscapeDataString(identity)}");
        Assert.Equal(new[] { a, b }.Order(), egress.Select(r => r.GetProperty("onBehalfOf").GetString()).Order());
        var leases = egress.Select(r => r.GetProperty("leaseId").GetString()).ToArray();
        Assert.Equal(2, leases.Distinct().Count());

        // The same identity in base-URL mode names no agent: no per-agent key is spliced for it.
        using var serverSvid = await fabric.MintSvidAsync(identity);
        using var http = fabric.AgentHttpClient(serverSvid);
        using var response = await http.GetAsync(new Uri(fabric.EdgeUrl, $"/egress/{target}/api/me"));
        Assert.Equal(503, (int)response.StatusCode);
        Assert.Contains("credential-unavailable", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(2, api.Requests.Count);
    }

    [Fact]
    public async Task Stderr_reaches_the_edge_log_with_keys_masked_and_an_idle_process_stops_after_its_timeout()
    {
        var agent = Agent();
        var (server, _) = await RegisterAsync(perWorkload: false, [agent], ["log_stderr"], idleTimeoutSeconds: 1);
        using var svid = await fabric.MintSvidAsync(agent);
        var leaked = "ghp_" + Guid.NewGuid().ToString("N") + "Ab12";
        var marker = "marker-" + Guid.NewGuid().ToString("N")[..8];
        StdioProcess process;
        await using (var client = await fabric.ConnectAsync(server, svid, ProtocolGeneration.Stateless2026))
        {
            await client.Client.CallToolAsync("log_stderr", new Dictionary<string, object?> { ["text"] = $"{marker} token={leaked}" });
            process = Assert.Single(ProcessesOf(server));
        }
        var line = await EventuallyAsync(() => fabric.EdgeLogs.Lines.FirstOrDefault(l => l.Contains(marker, StringComparison.Ordinal) && l.Contains("stderr", StringComparison.Ordinal)));
        Assert.Contains("***", line, StringComparison.Ordinal);
        Assert.DoesNotContain(fabric.EdgeLogs.Lines, l => l.Contains(leaked, StringComparison.Ordinal));

        // Idle for its one-second timeout: stopped by the edge's sweep.
        await process.Exited.WaitAsync(TimeSpan.FromSeconds(15));
        Assert.True(process.StoppedByEdge);
        Assert.Empty(ProcessesOf(server));
    }

    [Fact]
    public async Task A_changed_definition_stops_the_old_process_and_the_next_call_runs_the_new_one()
    {
        var agent = Agent();
        var (server, identity) = await RegisterAsync(perWorkload: false, [agent], ["echo"]);
        using var svid = await fabric.MintSvidAsync(agent);
        await using (var client = await fabric.ConnectAsync(server, svid, ProtocolGeneration.Stateless2026))
        {
            await client.Client.CallToolAsync("echo", new Dictionary<string, object?> { ["text"] = "v1" });
        }
        var old = Assert.Single(ProcessesOf(server));
        await fabric.PutAsync($"/v1/servers/{server}", new
        {
            identity,
            launch = new { command = "dotnet", args = new[] { StdioServers.DemoServerDll }, env = new Dictionary<string, string> { ["DEMO_MODE"] = "v2" } },
        });
        await old.Exited.WaitAsync(TimeSpan.FromSeconds(15));
        await using (var client = await fabric.ConnectAsync(server, svid, ProtocolGeneration.Stateless2026))
        {
            await client.Client.CallToolAsync("echo", new Dictionary<string, object?> { ["text"] = "v2" });
        }
        var current = Assert.Single(ProcessesOf(server));
        Assert.True(current.Key.Revision > old.Key.Revision);
    }

    [Fact]
    public async Task A_command_this_edge_does_not_permit_is_never_started_and_the_refusal_is_audited()
    {
        var agent = Agent();
        var server = FabricFixture.Unique("stdio-sh");
        await fabric.PutAsync($"/v1/servers/{server}", new
        {
            identity = $"spiffe://{FabricFixture.TrustDomain}/mcp/{server}",
            launch = new { command = "/bin/sh", args = new[] { "-c", "echo pwned > /tmp/fabric-pwned" } },
        });
        await fabric.PutAsync($"/v1/policies/{FabricFixture.Unique("sh")}", new { subjects = new[] { agent }, rules = new object[] { new { server, effect = "allow" } } });
        using var svid = await fabric.MintSvidAsync(agent);
        using var http = fabric.AgentHttpClient(svid);
        using var response = await McpClients.PostAsync(http, fabric.McpUrl(server), McpClients.StatelessRequest(1, "tools/list"), McpClients.StatelessHeaders("tools/list"));
        Assert.Equal(502, (int)response.StatusCode);
        Assert.Equal("launch-not-permitted", JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("reason").GetString());
        Assert.Empty(ProcessesOf(server));
        Assert.Contains(await fabric.AuditAsync($"server={server}"), r => r.GetProperty("reason").GetString() == "launch-not-permitted");
    }

    private static string? NameOf(JsonElement record) => record.TryGetProperty("name", out var name) ? name.GetString() : null;

    private static async Task<T> EventuallyAsync<T>(Func<T?> probe) where T : class
    {
        // Polls an observable effect of a child process (its stderr reaches the log on the edge's reader thread).
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        while (true)
        {
            if (probe() is { } value)
            {
                return value;
            }
            await Task.Delay(20, timeout.Token);
        }
    }
}
