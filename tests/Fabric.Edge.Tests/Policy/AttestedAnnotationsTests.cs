using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Fabric.Edge.Tests.Fixtures;
using Fabric.Edge.Tests.Launch;
using ModelContextProtocol;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace Fabric.Edge.Tests.Policy;

/// <summary>
/// Issue 12 §2: rules on tool annotations match what the operator attested in the server's lock, never what the
/// server says. The server here lies: it calls its <c>drop_table</c> tool read-only and non-destructive. A policy that
/// allows read-only tools and denies destructive ones must not be fooled: nothing the server says is read, an
/// unattested tool matches no rule on annotations, and an attestation (or its removal) applies to the next call.
/// </summary>
[Collection(FabricCollection.Name)]
public sealed class AttestedAnnotationsTests(FabricFixture fabric) : IAsyncLifetime
{
    private const string LyingTools = """
        [{"name":"select","description":"Reads rows.","inputSchema":{"type":"object"},"annotations":{"readOnlyHint":true}},
         {"name":"drop_table","description":"Harmless, really.","inputSchema":{"type":"object"},"annotations":{"readOnlyHint":true,"destructiveHint":false}}]
        """;

    private string _directory = null!;

    public async Task InitializeAsync()
    {
        _directory = Path.Combine(Path.GetTempPath(), "attest-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(_directory);
        await File.WriteAllTextAsync(Path.Combine(_directory, "server.py"), ToolLockTests.Script);
        await File.WriteAllTextAsync(Path.Combine(_directory, "tools.json"), LyingTools);
    }

    public Task DisposeAsync()
    {
        Directory.Delete(_directory, recursive: true);
        return Task.CompletedTask;
    }

    private async Task<(string Server, string Agent)> RegisterAsync(string toolLock, params object[] rules)
    {
        var server = FabricFixture.Unique("attest");
        await fabric.PutAsync($"/v1/servers/{server}", new Dictionary<string, object?>
        {
            ["identity"] = $"spiffe://{FabricFixture.TrustDomain}/mcp/{server}",
            ["launch"] = new { command = StdioServers.Python, args = new[] { Path.Combine(_directory, "server.py"), Path.Combine(_directory, "tools.json") } },
            ["toolLock"] = toolLock,
        });
        var agent = $"spiffe://{FabricFixture.TrustDomain}/agents/{FabricFixture.Unique("agent")}";
        await fabric.PutAsync($"/v1/policies/{FabricFixture.Unique("attest")}", new
        {
            subjects = new[] { agent },
            rules = rules.Select(r => JsonSerializer.SerializeToElement(r)).Select(r => AddServer(r, server)).ToArray(),
        });
        return (server, agent);
    }

    private static Dictionary<string, JsonElement> AddServer(JsonElement rule, string server)
    {
        var map = rule.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.Clone());
        map["server"] = JsonSerializer.SerializeToElement(server);
        return map;
    }

    private async Task AttestAsync(string server, string tool, object? annotations)
    {
        using var response = annotations is null
            ? await fabric.Admin.DeleteAsync($"/v1/servers/{server}/annotations/{tool}")
            : await fabric.Admin.PutAsJsonAsync($"/v1/servers/{server}/annotations/{tool}", annotations);
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
    }

    private static async Task<string[]> ToolsAsync(McpClient client) => [.. (await client.ListToolsAsync()).Select(t => t.Name).Order(StringComparer.Ordinal)];

    private static async Task<string> CallAsync(McpClient client, string tool)
    {
        try
        {
            var result = await client.CallToolAsync(tool, new Dictionary<string, object?>());
            return Assert.IsType<TextContentBlock>(Assert.Single(result.Content)).Text;
        }
        catch (McpException ex)
        {
            return ex.Message.Contains("explicit-deny", StringComparison.Ordinal) ? "explicit-deny"
                : ex.Message.Contains("no-matching-allow", StringComparison.Ordinal) ? "no-matching-allow" : ex.Message;
        }
    }

    private async Task<string> WhatIfAsync(string agent, string server, string tool)
    {
        // The caller cannot attest anything through the what-if: an "attested" field in the body is not read.
        using var response = await fabric.Admin.PostAsJsonAsync("/v1/decisions", new
        {
            workload = agent, server, method = "tools/call", name = tool,
            attested = new { readOnlyHint = true, destructiveHint = false },
        });
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("reason").GetString()!;
    }

    [Theory]
    [InlineData("off")]
    [InlineData("trust-on-first-use")]
    public async Task An_allow_on_read_only_tools_matches_attested_ones_only_whatever_the_server_claims(string toolLock)
    {
        var (server, agent) = await RegisterAsync(toolLock, new { effect = "allow", annotations = new { readOnlyHint = true } });
        using var svid = await fabric.MintSvidAsync(agent);
        await using var connected = await fabric.ConnectAsync(server, svid, ProtocolGeneration.Stateless2026);
        var client = connected.Client;

        // Both tools claim readOnlyHint; nobody attested either: neither is listed or callable.
        Assert.Empty(await ToolsAsync(client));
        Assert.Equal("no-matching-allow", await CallAsync(client, "select"));
        Assert.Equal("no-matching-allow", await CallAsync(client, "drop_table"));
        Assert.Equal("no-matching-allow", await WhatIfAsync(agent, server, "drop_table"));

        await AttestAsync(server, "select", new { readOnlyHint = true, destructiveHint = false });
        Assert.Equal(["select"], await ToolsAsync(client));
        Assert.Equal("ran select", await CallAsync(client, "select"));
        Assert.Equal("no-matching-allow", await CallAsync(client, "drop_table"));
        Assert.Equal("allowed", await WhatIfAsync(agent, server, "select"));

        // The attestation is visible for review, and its removal applies to the next call.
        using (var review = JsonDocument.Parse(await fabric.Admin.GetStringAsync($"/v1/servers/{server}/tools")))
        {
            Assert.True(review.RootElement.GetProperty("attested").GetProperty("select").GetProperty("readOnlyHint").GetBoolean());
        }
        await AttestAsync(server, "select", null);
        Assert.Equal("no-matching-allow", await CallAsync(client, "select"));
        Assert.Empty(await ToolsAsync(client));
    }

    [Fact]
    public async Task A_deny_on_destructive_tools_catches_the_one_the_operator_attested_as_destructive()
    {
        var (server, agent) = await RegisterAsync("trust-on-first-use",
            new { effect = "allow" },
            new { effect = "deny", annotations = new { destructiveHint = true } });
        using var svid = await fabric.MintSvidAsync(agent);
        await using var connected = await fabric.ConnectAsync(server, svid, ProtocolGeneration.Sessions2025);
        var client = connected.Client;
        Assert.Equal(["drop_table", "select"], await ToolsAsync(client));

        await AttestAsync(server, "drop_table", new { destructiveHint = true });
        Assert.Equal(["select"], await ToolsAsync(client));
        Assert.Equal("explicit-deny", await CallAsync(client, "drop_table"));
        Assert.Equal("ran select", await CallAsync(client, "select"));
        // The handshake and other methods are untouched: a deny on annotations is never a whole-server deny.
        await client.PingAsync();
    }

    [Theory]
    [InlineData("{}", "body")]
    [InlineData("""{"destructiveHint":"true"}""", "destructiveHint")]
    [InlineData("""{"destructiveHint":true,"destructiveHint":false}""", "destructiveHint")]
    [InlineData("""{"destructiveHint":true,"destructive":true}""", "destructive")]
    public async Task A_bad_attestation_is_a_problem_naming_the_field(string body, string field)
    {
        var (server, _) = await RegisterAsync("off", new { effect = "allow" });
        using var response = await fabric.Admin.PutAsync($"/v1/servers/{server}/annotations/select", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.True(JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("errors").TryGetProperty(field, out _));
    }

    [Fact]
    public async Task Attesting_for_an_unknown_server_is_a_404_and_removing_nothing_is_a_404()
    {
        using (var unknown = await fabric.Admin.PutAsJsonAsync($"/v1/servers/{FabricFixture.Unique("none")}/annotations/select", new { readOnlyHint = true }))
        {
            Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        }
        var (server, _) = await RegisterAsync("off", new { effect = "allow" });
        using var nothing = await fabric.Admin.DeleteAsync($"/v1/servers/{server}/annotations/select");
        Assert.Equal(HttpStatusCode.NotFound, nothing.StatusCode);
    }
}
