using System.Text.Json;
using Fabric.Cli;
using Fabric.Silo.Tests.Apis;

namespace Fabric.Silo.Tests.Cli;

/// <summary>
/// Issue 13 §1: the <c>fabric</c> CLI against a real in-process silo host. Verbs run in-process with their own output
/// streams; tables are compared as printed (plain text at a fixed width), exit codes as documented, and no secret
/// value is ever printed or taken from an argument.
/// </summary>
[Collection(SiloApiCollection.Name)]
public sealed class CliTests(SiloApiFixture fixture) : IDisposable
{
    private readonly string _home = Path.Combine(Path.GetTempPath(), "fabric-cli-" + Guid.NewGuid().ToString("N")[..8]);

    public void Dispose()
    {
        if (Directory.Exists(_home))
        {
            Directory.Delete(_home, recursive: true);
        }
    }

    private sealed record Run(int Exit, string Out, string Error);

    private async Task<Run> RunWithInputAsync(string stdin, params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var io = new CliIo(output, error, new StringReader(stdin), name => name switch
        {
            "FABRIC_API" => fixture.ApiUrl.ToString(),
            "FABRIC_ADMIN_TOKEN" => SiloApiFixture.AdminToken,
            _ => null,
        }, _home, Width: 1000); // wide: the shared silo holds other tests' long names, and a narrow table wraps them
        var exit = await CliApp.RunAsync(args, io);
        return new Run(exit, output.ToString().Replace("\r\n", "\n", StringComparison.Ordinal), error.ToString());
    }

    private Task<Run> RunAsync(params string[] args) => RunWithInputAsync("", args);

    private static string Unique(string prefix) => prefix + "-" + Guid.NewGuid().ToString("N")[..8];

    [Fact]
    public async Task Login_remembers_the_api_and_the_token_file_never_the_token_in_a_0600_file()
    {
        var tokenFile = Path.Combine(Path.GetTempPath(), Unique("token"));
        await File.WriteAllTextAsync(tokenFile, SiloApiFixture.AdminToken + "\n");
        try
        {
            var io = new CliIo(new StringWriter(), new StringWriter(), new StringReader(""), _ => null, _home);
            Assert.Equal(ExitCodes.Ok, await CliApp.RunAsync(["login", "--api", fixture.ApiUrl.ToString(), "--token-file", tokenFile], io));
            var config = Path.Combine(_home, CliConfig.FileName);
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, OperatingSystem.IsWindows() ? UnixFileMode.UserRead | UnixFileMode.UserWrite : File.GetUnixFileMode(config));
            var text = await File.ReadAllTextAsync(config);
            Assert.DoesNotContain(SiloApiFixture.AdminToken, text, StringComparison.Ordinal);
            Assert.Contains(tokenFile, text, StringComparison.Ordinal);

            // Later verbs need nothing but the login.
            var later = new StringWriter();
            Assert.Equal(ExitCodes.Ok, await CliApp.RunAsync(["secret", "ls", "--output", "json"], io with { Out = later }));
            Assert.Contains("\"secrets\"", later.ToString(), StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(tokenFile);
        }
    }

    [Fact]
    public async Task Status_shows_the_silos_and_each_secret_source_health_as_a_table_and_as_json()
    {
        var table = await RunAsync("status");
        Assert.Equal(ExitCodes.Ok, table.Exit);
        Assert.Contains("Silos", table.Out, StringComparison.Ordinal);
        Assert.Contains("Active", table.Out, StringComparison.Ordinal);
        Assert.Contains("Secret sources", table.Out, StringComparison.Ordinal);

        var json = await RunAsync("status", "--output", "json");
        Assert.Equal(ExitCodes.Ok, json.Exit);
        using var document = JsonDocument.Parse(json.Out);
        Assert.Equal("Active", Assert.Single(document.RootElement.GetProperty("silos").EnumerateArray()).GetProperty("status").GetString());
        Assert.Contains(document.RootElement.GetProperty("secretSources").EnumerateArray(),
            source => source.GetProperty("source").GetString() == "local" && source.GetProperty("healthy").GetBoolean());
    }

    [Fact]
    public async Task A_wrong_token_is_refused_with_1_and_an_unreachable_api_is_3_and_nothing_is_remembered()
    {
        var tokenFile = Path.Combine(Path.GetTempPath(), Unique("token"));
        await File.WriteAllTextAsync(tokenFile, "not-the-token");
        try
        {
            var error = new StringWriter();
            var io = new CliIo(new StringWriter(), error, new StringReader(""), _ => null, _home);
            Assert.Equal(ExitCodes.Refused, await CliApp.RunAsync(["login", "--api", fixture.ApiUrl.ToString(), "--token-file", tokenFile], io));
            Assert.Contains("401", error.ToString(), StringComparison.Ordinal);
            Assert.False(File.Exists(Path.Combine(_home, CliConfig.FileName)));
            Assert.Equal(ExitCodes.Unreachable, await CliApp.RunAsync(["login", "--api", $"http://127.0.0.1:{FreePort.Next()}", "--token-file", tokenFile], io));
        }
        finally
        {
            File.Delete(tokenFile);
        }
    }

    [Fact]
    public async Task Usage_errors_exit_2()
    {
        Assert.Equal(ExitCodes.Usage, (await RunAsync("frobnicate")).Exit);
        Assert.Equal(ExitCodes.Usage, (await RunAsync("decide", "--server", "s")).Exit); // --workload missing
        Assert.Equal(ExitCodes.Usage, (await RunAsync("secret", "put", "name", "the-value-as-an-argument")).Exit);
        Assert.Equal(ExitCodes.Usage, (await RunAsync("decide", "--workload", "spiffe://fabric.local/a", "--server", "s", "--tool", "t", "--args", "{not json")).Exit);
        Assert.Equal(ExitCodes.Usage, (await RunAsync("server", "ls", "--output", "xml")).Exit);
    }

    [Fact]
    public async Task A_secret_value_comes_from_stdin_and_is_never_printed()
    {
        var name = Unique("cli-secret");
        var value = "sk-cli-" + Guid.NewGuid().ToString("N");
        var put = await RunWithInputAsync(value + "\n", "secret", "put", name);
        Assert.Equal(ExitCodes.Ok, put.Exit);
        var ls = await RunAsync("secret", "ls");
        var json = await RunAsync("secret", "ls", "--output", "json");
        Assert.Contains(name, ls.Out, StringComparison.Ordinal);
        foreach (var text in new[] { put.Out, put.Error, ls.Out, json.Out })
        {
            Assert.DoesNotContain(value, text, StringComparison.Ordinal);
        }
        // Stored without the trailing newline: what the store holds is the value.
        var stored = await fixture.Grains.GetGrain<Fabric.Contracts.Grains.ISecretStoreGrain>("local").RevealAsync(name);
        Assert.Equal(value, stored!.Value);
        Assert.Equal(ExitCodes.Usage, (await RunWithInputAsync("", "secret", "put", Unique("empty"))).Exit);
        Assert.Equal(ExitCodes.Ok, (await RunAsync("secret", "rm", name)).Exit);
    }

    [Fact]
    public async Task A_policy_round_trips_and_its_rules_print_as_a_table()
    {
        var name = Unique("cli-pol");
        var file = Path.Combine(Path.GetTempPath(), name + ".json");
        await File.WriteAllTextAsync(file, """
            {"subjects":["spiffe://fabric.local/agents/cli"],"rules":[
              {"server":"files","effect":"allow","tools":["read_*"],"limit":{"calls":100,"per":"1m"}},
              {"server":"files","effect":"deny","tools":["delete_all"]}]}
            """);
        try
        {
            Assert.Equal(ExitCodes.Ok, (await RunAsync("policy", "put", name, "-f", file)).Exit);
            var get = await RunAsync("policy", "get", name);
            Assert.Equal(ExitCodes.Ok, get.Exit);
            var lines = get.Out.Split('\n').Select(l => l.TrimEnd()).ToArray();
            Assert.Matches($"^{name} \\(version \\d+\\) for spiffe://fabric.local/agents/cli$", lines[0]);
            Assert.Equal("  #   Effect   Server   Names                When   Limit", lines[2]);
            Assert.Matches("^─{70,}$", lines[3]);
            Assert.Equal("""  0   allow    files    tools=[read_*]              {"calls":100,"per":"1m"}""", lines[4]);
            Assert.Equal("  1   deny     files    tools=[delete_all]", lines[5]);
            Assert.Equal(ExitCodes.Ok, (await RunAsync("policy", "rm", name)).Exit);
            Assert.Equal(ExitCodes.Refused, (await RunAsync("policy", "get", name)).Exit);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task A_refused_policy_prints_each_field_error_and_exits_1()
    {
        var run = await RunWithInputAsync("""{"subjects":["spiffe://fabric.local/agents/cli"],"rules":[{"server":"files","effect":"maybe"}]}""",
            "policy", "put", Unique("cli-bad"), "-f", "-");
        Assert.Equal(ExitCodes.Refused, run.Exit);
        Assert.Contains("400", run.Error, StringComparison.Ordinal);
        Assert.Matches(@"\n  [^\n]*effect[^\n]*: ", run.Error);
    }

    [Fact]
    public async Task Decide_prints_the_rule_and_exits_by_the_decision()
    {
        var policy = Unique("cli-decide");
        var agent = "spiffe://fabric.local/agents/" + Unique("a");
        var server = Unique("files");
        using (var registered = await fixture.Admin.PutAsync($"/v1/servers/{server}", new StringContent(
            """{"upstream":"https://files.example.com/mcp"}""", System.Text.Encoding.UTF8, "application/json")))
        {
            registered.EnsureSuccessStatusCode();
        }
        using (var put = await fixture.Admin.PutAsync($"/v1/policies/{policy}", new StringContent(
            $$"""{"subjects":["{{agent}}"],"rules":[{"server":"{{server}}","effect":"allow","tools":["read"]}]}""", System.Text.Encoding.UTF8, "application/json")))
        {
            put.EnsureSuccessStatusCode();
        }
        var allowed = await RunAsync("decide", "--workload", agent, "--server", server, "--tool", "read");
        Assert.True(allowed.Exit == ExitCodes.Ok, allowed.Out + allowed.Error);
        Assert.Matches($"^allowed \\(allowed\\) by {policy} rule 0, catalog version \\d+\n$", allowed.Out);
        var denied = await RunAsync("decide", "--workload", agent, "--server", server, "--tool", "write");
        Assert.Equal(ExitCodes.Refused, denied.Exit);
        Assert.Matches("^denied \\(no-matching-allow\\), catalog version \\d+\n$", denied.Out);
        var json = await RunAsync("decide", "--workload", agent, "--server", server, "--tool", "write", "-o", "json");
        Assert.Equal("no-matching-allow", JsonDocument.Parse(json.Out).RootElement.GetProperty("reason").GetString());
    }

    [Fact]
    public async Task A_server_is_put_listed_shown_and_removed()
    {
        var name = Unique("cli-srv");
        var put = await RunWithInputAsync("""{"upstream":"https://mcp.example.com/mcp","identity":"spiffe://fabric.local/mcp/x"}""", "server", "put", name, "-f", "-");
        Assert.Equal(ExitCodes.Ok, put.Exit);
        var ls = await RunAsync("server", "ls");
        var row = Assert.Single(ls.Out.Split('\n'), l => l.Contains(name, StringComparison.Ordinal));
        // Columns are as wide as the widest row (other tests' servers share the table): padding varies, the cells do not.
        Assert.Matches($"^  {name} +https://mcp.example.com/mcp +spiffe://fabric.local/mcp/x +trust-on-first-use$", row.TrimEnd());
        Assert.Equal(ExitCodes.Ok, (await RunAsync("server", "get", name)).Exit);
        Assert.Equal(ExitCodes.Ok, (await RunAsync("server", "rm", name)).Exit);
        Assert.Equal(ExitCodes.Refused, (await RunAsync("server", "get", name)).Exit);
    }

    [Fact]
    public async Task Posture_prints_the_findings()
    {
        var run = await RunAsync("posture");
        Assert.Equal(ExitCodes.Ok, run.Exit);
        Assert.Matches(@"^\d+ finding\(s\) over the fabric's state and \d+ recent audit records\.", run.Out);
        Assert.Matches(@"Severity\s+Finding\s+Objects\s+Fix", run.Out);
    }

    [Fact]
    public async Task Audit_tail_and_approvals_ls_print_tables()
    {
        var audit = await RunAsync("audit", "tail", "--limit", "5");
        Assert.True(audit.Exit == 0, audit.Error + "|" + audit.Out);
        Assert.Matches(@"Time\s+Workload\s+Server\s+Method\s+Name\s+Decision\s+Reason", audit.Out);
        var approvals = await RunAsync("approvals", "ls", "--state", "pending");
        Assert.Equal(ExitCodes.Ok, approvals.Exit);
        Assert.Matches(@"Id\s+State\s+Workload\s+Server\s+Tool\s+Expires", approvals.Out);
        Assert.Equal(ExitCodes.Refused, (await RunAsync("approvals", "approve", "apr_aaaaaaaaaaaaaaaaaaaaaaaaaa")).Exit);
    }
}
