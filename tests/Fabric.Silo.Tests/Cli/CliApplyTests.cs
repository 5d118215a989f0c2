using System.Net.Http.Json;
using System.Text.Json;
using Fabric.Cli;
using Fabric.Contracts.Audit;
using Fabric.Contracts.Grains;
using Fabric.Contracts.Policy;
using Fabric.Silo.Tests.Apis;

namespace Fabric.Silo.Tests.Cli;

/// <summary>
/// Issue 13 §2: <c>fabric apply</c> and <c>fabric export</c> against a real silo host. Schema errors name the document,
/// line and field; documents go in dependency order and the first refusal stops the rest; applying twice changes
/// nothing; the dry run diffs and replays past calls under the new policies; export round-trips through apply.
/// </summary>
[Collection(SiloApiCollection.Name)]
public sealed class CliApplyTests(SiloApiFixture fixture) : IDisposable
{
    private readonly string _home = Path.Combine(Path.GetTempPath(), "fabric-cli-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly Dictionary<string, string> _environment = new(StringComparer.Ordinal);

    public void Dispose()
    {
        if (Directory.Exists(_home))
        {
            Directory.Delete(_home, recursive: true);
        }
    }

    private async Task<(int Exit, string Out, string Error)> RunAsync(string stdin, params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var io = new CliIo(output, error, new StringReader(stdin), name => name switch
        {
            "FABRIC_API" => fixture.ApiUrl.ToString(),
            "FABRIC_ADMIN_TOKEN" => SiloApiFixture.AdminToken,
            _ => _environment.GetValueOrDefault(name),
        }, _home, Width: 1000);
        var exit = await CliApp.RunAsync(args, io);
        return (exit, output.ToString(), error.ToString());
    }

    private static string Id() => Guid.NewGuid().ToString("N")[..8];

    [Fact]
    public async Task Schema_errors_name_the_document_the_line_and_the_field()
    {
        var yaml = """
            kind: Server
            name: fine
            spec:
              upstream: https://fine.example.com/mcp
            ---
            kind: Server
            name: typo
            specs:
              upstream: https://typo.example.com/mcp
            ---
            kind: Sever
            name: x
            spec: {}
            ---
            kind: Secret
            name: inline
            spec:
              value: sk-inline-should-never-be-here
            ---
            kind: Policy
            name: twice
            spec:
              subjects: [a]
              subjects: [b]
            """;
        var (exit, _, error) = await RunAsync(yaml, "apply", "-f", "-");
        Assert.Equal(ExitCodes.Usage, exit);
        Assert.Contains("-: document 2, line 8, specs: unknown member", error, StringComparison.Ordinal);
        Assert.Contains("document 3, line 11, kind: kind is one of", error, StringComparison.Ordinal);
        Assert.Contains("document 4, line 18, spec.value: secret values are never inline", error, StringComparison.Ordinal);
        Assert.Contains("document 5, line 24, subjects: a key appears twice", error, StringComparison.Ordinal);
        Assert.DoesNotContain("sk-inline-should-never-be-here", error, StringComparison.Ordinal);
        // Nothing was applied, not even the valid first document.
        Assert.Equal(ExitCodes.Refused, (await RunAsync("", "server", "get", "fine")).Exit);
    }

    [Fact]
    public async Task Documents_go_in_dependency_order_and_the_first_refusal_stops_the_rest()
    {
        var id = Id();
        var yaml = $"""
            kind: Policy
            name: pol-{id}
            spec:
              subjects: ["spiffe://fabric.local/agents/{id}"]
              rules:
                - {"{"}server: srv-{id}, effect: allow, tools: [read]{"}"}
            ---
            kind: Server
            name: srv-{id}
            spec:
              upstream: https://srv-{id}.example.com/mcp
            ---
            kind: Server
            name: bad-{id}
            spec:
              upstream: ftp://bad.example.com/mcp
            """;
        var (exit, _, error) = await RunAsync(yaml, "apply", "-f", "-");
        Assert.Equal(ExitCodes.Refused, exit);
        Assert.Contains($"applied 1 of 3: Server srv-{id}", error, StringComparison.Ordinal);
        Assert.Matches($@"document 3 \(Server bad-{id}\) refused: 400", error);
        Assert.Matches(@"document 3, line 16, spec\.upstream: ", error); // the line of the refused field
        Assert.Equal(ExitCodes.Ok, (await RunAsync("", "server", "get", $"srv-{id}")).Exit);
        Assert.Equal(ExitCodes.Refused, (await RunAsync("", "policy", "get", $"pol-{id}")).Exit); // after the refusal: not applied
    }

    [Fact]
    public async Task Apply_is_idempotent_and_the_dry_run_replays_past_calls_under_the_new_policies()
    {
        var id = Id();
        var agent = $"spiffe://fabric.local/agents/{id}";
        string Yaml(string tools) => $$$"""
            kind: Secret
            name: key-{{{id}}}
            spec: {fromEnv: KEY_{{{id}}}}
            ---
            kind: Server
            name: srv-{{{id}}}
            spec:
              upstream: https://srv-{{{id}}}.example.com/mcp
              credential: {source: local, ref: key-{{{id}}}, inject: {header: Authorization, format: "Bearer {secret}"}}
            ---
            kind: Policy
            name: pol-{{{id}}}
            spec:
              subjects: ["{{{agent}}}"]
              rules:
                - {server: srv-{{{id}}}, effect: allow, tools: [{{{tools}}}], limit: {calls: 100, per: 1m}}
            """;
        _environment[$"KEY_{id}"] = "sk-apply-" + id;
        Assert.Equal(ExitCodes.Ok, (await RunAsync(Yaml("read, write"), "apply", "-f", "-")).Exit);
        var again = await RunAsync(Yaml("read, write"), "apply", "-f", "-");
        Assert.Equal(ExitCodes.Ok, again.Exit);
        var unchanged = await RunAsync(Yaml("read, write"), "apply", "-f", "-", "--dry-run", "-o", "json");
        using (var json = JsonDocument.Parse(unchanged.Out))
        {
            var changes = json.RootElement.GetProperty("changes").EnumerateArray().ToDictionary(c => c.GetProperty("kind").GetString()!, c => c.GetProperty("change").GetString());
            Assert.Equal("unchanged", changes["Server"]);
            Assert.Equal("unchanged", changes["Policy"]);
            Assert.StartsWith("replace", changes["Secret"], StringComparison.Ordinal);
        }

        // Past traffic: a write that was allowed. Narrowing the policy to read only flips it, and the dry run says so.
        await fixture.Grains.Audit().AppendAsync([new AuditRecord
        {
            Id = Guid.NewGuid(), Time = DateTimeOffset.UtcNow, Edge = "cli-test", Workload = agent, Server = $"srv-{id}",
            Method = McpMethods.ToolsCall, Name = "write", Allowed = true, Reason = ReasonCodes.Allowed, Auth = "x509-svid",
        }]);
        var dry = await RunAsync(Yaml("read"), "apply", "-f", "-", "--dry-run");
        Assert.Equal(ExitCodes.Ok, dry.Exit);
        Assert.Matches($@"Policy\s+pol-{id}\s+change: rules", dry.Out);
        Assert.Matches($@"{System.Text.RegularExpressions.Regex.Escape(agent)}\s+srv-{id} tools/call write\s+allow → deny\s+no-matching-allow", dry.Out);
        // A dry run changes nothing.
        var policy = JsonDocument.Parse((await RunAsync("", "policy", "get", $"pol-{id}", "-o", "json")).Out).RootElement;
        Assert.Equal(2, policy.GetProperty("rules")[0].GetProperty("tools").GetArrayLength());
        Assert.DoesNotContain("sk-apply-" + id, dry.Out + dry.Error + again.Out + again.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Export_round_trips_through_apply()
    {
        var id = Id();
        using (var put = await fixture.Admin.PutAsync($"/v1/servers/exp-{id}", new StringContent(
            $$"""{"upstream":"https://exp-{{id}}.example.com/mcp","identity":"spiffe://fabric.local/mcp/exp-{{id}}","toolLock":"approve"}""", System.Text.Encoding.UTF8, "application/json")))
        {
            put.EnsureSuccessStatusCode();
        }
        // Federation too, both profiles (nothing answers there: the fabric keeps the configuration and the fetch's error).
        var roots = (await fixture.Admin.GetStringAsync("/v1/bundle")).Trim();
        foreach (var (domain, body) in new[]
        {
            ($"exp-{id}.example", (object)new { bundleEndpointUrl = "https://127.0.0.1:1/bundle", profile = "https_web" }),
            ($"exp-{id}-spiffe.example", new { bundleEndpointUrl = "https://127.0.0.1:1/bundle", profile = "https_spiffe", endpointSpiffeId = $"spiffe://exp-{id}-spiffe.example/spire/server", bootstrapBundle = roots }),
        })
        {
            using var put = await fixture.Admin.PutAsJsonAsync($"/v1/federation/{domain}", body);
            Assert.True(put.IsSuccessStatusCode, await put.Content.ReadAsStringAsync());
        }
        var exported = await RunAsync("", "export");
        Assert.Equal(ExitCodes.Ok, exported.Exit);
        Assert.Contains($"name: \"exp-{id}\"", exported.Out, StringComparison.Ordinal);
        Assert.Contains($"name: \"exp-{id}-spiffe.example\"", exported.Out, StringComparison.Ordinal);
        Assert.Contains("kind: Federation", exported.Out, StringComparison.Ordinal);
        // Every secret comes back by reference; give each its variable.
        foreach (var name in System.Text.RegularExpressions.Regex.Matches(exported.Out, "fromEnv: \"(FABRIC_SECRET_[A-Z0-9_]+)\"").Select(m => m.Groups[1].Value))
        {
            _environment[name] = "exported-value";
        }
        var dry = await RunAsync(exported.Out, "apply", "-f", "-", "--dry-run", "-o", "json");
        Assert.True(dry.Exit == ExitCodes.Ok, dry.Error);
        using var json = JsonDocument.Parse(dry.Out);
        var changed = json.RootElement.GetProperty("changes").EnumerateArray()
            .Where(c => c.GetProperty("kind").GetString() != "Secret" && c.GetProperty("change").GetString() != "unchanged")
            .Select(c => $"{c.GetProperty("kind").GetString()} {c.GetProperty("name").GetString()}: {c.GetProperty("change").GetString()}").ToList();
        Assert.Empty(changed);

        // And for real: this test's own documents, as exported, are accepted by apply unchanged.
        var own = string.Join("---\n", exported.Out.Split("---\n").Where(d => d.Contains($"exp-{id}", StringComparison.Ordinal)));
        var applied = await RunAsync(own, "apply", "-f", "-");
        Assert.True(applied.Exit == ExitCodes.Ok, applied.Error);
    }
}
