using Fabric.Contracts.Servers;

namespace Fabric.Contracts.Tests.Servers;

/// <summary>Issue 11 §4: what a launched server's definition may hold, and the keys it may not.</summary>
public class LaunchValidationTests
{
    private static readonly McpServerInput Valid = new(
        Upstream: null,
        Identity: "spiffe://td/mcp/github",
        Launch: new LaunchInput("/usr/bin/node", ["server.js", "--port", "0"],
            new Dictionary<string, string> { ["GITHUB_TOKEN"] = "fabric:github", ["LOG_LEVEL"] = "debug", ["CONFIG"] = "/etc/github-mcp/config.json" },
            "/srv/github-mcp", PerWorkload: true, IdleTimeoutSeconds: 60));

    private static IReadOnlyDictionary<string, string[]> Validate(McpServerInput input, Func<string, bool>? holdsStoredSecret = null) =>
        McpServerValidator.Validate("github", input, holdsStoredSecret: holdsStoredSecret);

    private static McpServerInput WithLaunch(Func<LaunchInput, LaunchInput> change) => Valid with { Launch = change(Valid.Launch!) };

    private static McpServerInput WithEnv(string name, string value) =>
        WithLaunch(l => l with { Env = new Dictionary<string, string>(l.Env!) { [name] = value } });

    [Fact]
    public void Accepts_a_launched_server_with_placeholders_paths_and_ordinary_configuration()
    {
        Assert.Empty(Validate(Valid));
        Assert.Empty(Validate(Valid with { Launch = new LaunchInput("npx") }));
        var spec = Valid.Launch!.ToSpec();
        Assert.Equal(["server.js", "--port", "0"], spec.Args.ToArray());
        Assert.Equal(60, spec.IdleTimeoutSeconds);
        Assert.Equal(LaunchSpec.DefaultIdleTimeoutSeconds, new LaunchInput("npx").ToSpec().IdleTimeoutSeconds);
        Assert.Equal(spec, LaunchInput.From(spec).ToSpec());
    }

    [Theory]
    [InlineData("API_KEY", "sk-proj-8fJ2kLm9QwErTyUiOp1234567890abcd")]                  // OpenAI-style prefix
    [InlineData("GITHUB_TOKEN", "ghp_0123456789abcdefABCDEF0123456789abcd")]
    [InlineData("SLACK_TOKEN", "xoxb-1234567890-0987654321-AbCdEfGhIjKl")]
    [InlineData("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")]
    [InlineData("STRIPE_KEY", "sk_live_51H8xYzAbCdEfGh12345678")]
    [InlineData("TOKEN", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZ2VudCJ9.c2lnbmF0dXJlLXZhbHVl")] // a JWT
    [InlineData("SECRET", "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08")] // hex, 256 bits
    [InlineData("KEY", "q8Zr3Kp0Lw7Xv2Nb5Ty9Hm4Jc6Fd1Sg")]                                 // base62, 30 chars
    [InlineData("KEY_B64", "dGhpc2lzYXNlY3JldGtleTEyMzQ1Njc4OTAxMjM0NTY3OA==")]
    [InlineData("PEM", "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMG\n-----END PRIVATE KEY-----")]
    [InlineData("URL", "https://user:ghp_0123456789abcdefABCDEF0123456789abcd@github.com/x")] // a key inside a value
    public void Refuses_a_declared_value_that_looks_like_a_key(string name, string value)
    {
        var errors = Validate(WithEnv(name, value));
        Assert.Contains("looks like a key", Assert.Single(errors[$"launch.env.{name}"]), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/usr/local/lib/node_modules/@modelcontextprotocol/server-github/dist/index.js")]
    [InlineData("/work/main/AppHost/Fabric.Demo.StdioServer/bin/Release/net10.0/Fabric.Demo.StdioServer.dll")]
    [InlineData("https://api.github.com/repos/acme-corp/widgets")]
    [InlineData("production-eu-west-1-cluster-2024")]
    [InlineData("MyApplicationName2024Production")]
    [InlineData("en_US.UTF-8")]
    [InlineData("Europe/Berlin")]
    [InlineData("fabric:github")]
    [InlineData("fabric:saas-per-agent-1a2b3c4d5e")] // a placeholder whose target name is random-looking
    [InlineData("1.2.3-beta.4+build.5678")]
    [InlineData("550e8400-e29b-41d4-a716-446655440000")] // a UUID (hyphens keep it below the bar)
    [InlineData("/tmp/hostile-stdio-4f9c2a7be1d84c0f9a3e6b5d7c1f2e8a/server.py")] // a path with a random segment
    [InlineData("/nix/store/9x2kq7w3m0v1b5c8d4f6g2h7j3l9n1p5-nodejs-20/bin/node")]
    public void Accepts_ordinary_configuration_values(string value) =>
        Assert.Empty(Validate(WithEnv("SETTING", value)));

    [Fact]
    public void Refuses_a_value_that_holds_a_stored_secret_even_when_it_does_not_look_like_one()
    {
        var errors = Validate(WithEnv("PASSWORD", "prefix-correct horse battery staple"), v => v.Contains("correct horse battery staple", StringComparison.Ordinal));
        Assert.Contains("stored secret", Assert.Single(errors["launch.env.PASSWORD"]), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("HTTPS_PROXY")]
    [InlineData("https_proxy")]
    [InlineData("NO_PROXY")]
    [InlineData("SSL_CERT_FILE")]
    [InlineData("NODE_TLS_REJECT_UNAUTHORIZED")]
    [InlineData("NODE_OPTIONS")]
    [InlineData("LD_PRELOAD")]
    [InlineData("PATH")]
    [InlineData("DOTNET_STARTUP_HOOKS")]
    [InlineData("FABRIC_ANYTHING")]
    [InlineData("1BAD")]
    [InlineData("BAD-NAME")]
    [InlineData("")]
    public void Refuses_variables_the_edge_sets_or_that_change_what_the_process_loads_or_trusts(string name) =>
        Assert.True(Validate(WithEnv(name, "x")).ContainsKey($"launch.env.{name}"));

    [Fact]
    public void Refuses_a_key_in_an_argument() =>
        Assert.True(Validate(WithLaunch(l => l with { Args = ["--token", "ghp_0123456789abcdefABCDEF0123456789abcd"] })).ContainsKey("launch.args[1]"));

    [Theory]
    [InlineData(null, "launch.command")]
    [InlineData("", "launch.command")]
    [InlineData("bin/server", "launch.command")]       // relative: resolved against whatever the working directory is
    [InlineData("./server", "launch.command")]
    [InlineData("/usr/bin/node\0--evil", "launch.command")]
    public void Refuses_commands_that_are_neither_absolute_nor_bare(string? command, string field) =>
        Assert.True(Validate(WithLaunch(l => l with { Command = command })).ContainsKey(field));

    [Fact]
    public void A_launched_server_has_an_identity_and_no_upstream_credential_or_remote_audience()
    {
        Assert.True(Validate(Valid with { Identity = null }).ContainsKey("identity"));
        Assert.True(Validate(Valid with { Identity = "spiffe://td/fabric/edge/e1" }).ContainsKey("identity"));
        Assert.True(Validate(Valid with { Upstream = "https://x.example/mcp" }).ContainsKey("upstream"));
        Assert.True(Validate(Valid with { Credential = new CredentialBindingInput("local", "k", Inject: new InjectSpecInput("Authorization", "Bearer {secret}")) }).ContainsKey("credential"));
        Assert.True(Validate(Valid with { AgentJwtAudience = "spiffe://b.test/mcp/x" }).ContainsKey("agentJwtAudience"));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-5)]
    [InlineData(86_401)]
    public void Refuses_idle_timeouts_out_of_range(int seconds) =>
        Assert.True(Validate(WithLaunch(l => l with { IdleTimeoutSeconds = seconds })).ContainsKey("launch.idleTimeoutSeconds"));

    [Fact]
    public void Refuses_a_relative_working_directory_and_too_many_arguments_or_variables()
    {
        Assert.True(Validate(WithLaunch(l => l with { WorkingDirectory = "srv" })).ContainsKey("launch.workingDirectory"));
        Assert.True(Validate(WithLaunch(l => l with { Args = [.. Enumerable.Repeat("a", McpServerValidator.MaxLaunchArgs + 1)] })).ContainsKey("launch.args"));
        Assert.True(Validate(WithLaunch(l => l with { Env = Enumerable.Range(0, McpServerValidator.MaxLaunchEnv + 1).ToDictionary(i => $"V{i}", _ => "x") })).ContainsKey("launch.env"));
    }

    [Fact]
    public void The_stored_form_is_validated_like_the_input()
    {
        var spec = Valid.Launch!.ToSpec();
        Assert.Empty(McpServerValidator.Validate("github", upstream: null, "spiffe://td/mcp/github", credential: null, launch: spec));
        Assert.NotEmpty(McpServerValidator.Validate("github", upstream: null, "spiffe://td/mcp/github", credential: null,
            launch: spec with { Env = spec.Env.SetItem("KEY", "ghp_0123456789abcdefABCDEF0123456789abcd") }));
    }
}

/// <summary>The masking of key-shaped tokens in text a launched process writes to stderr.</summary>
public class SecretShapesTests
{
    [Fact]
    public void Masks_keys_in_text_and_leaves_the_rest()
    {
        var masked = SecretShapes.Mask("calling api with ghp_0123456789abcdefABCDEF0123456789abcd at /srv/app/index.js (v1.2.3)");
        Assert.DoesNotContain("ghp_", masked, StringComparison.Ordinal);
        Assert.Contains("***", masked, StringComparison.Ordinal);
        Assert.Contains("/srv/app/index.js (v1.2.3)", masked, StringComparison.Ordinal);
        Assert.Equal("nothing secret here: /usr/bin/node server.js", SecretShapes.Mask("nothing secret here: /usr/bin/node server.js"));
    }

    /// <summary>
    /// A heuristic, so measured as one: of random keys as generators make them (base62, hex, base64url), at least
    /// 99.5% are recognised (seeded, so the run is the same every time).
    /// </summary>
    [Theory]
    [InlineData("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 32)]
    [InlineData("0123456789abcdef", 40)]
    [InlineData("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_", 43)]
    public void Random_keys_are_recognised(string alphabet, int length)
    {
        var random = new Random(20261202);
        const int Keys = 10_000;
        var recognised = Enumerable.Range(0, Keys)
            .Count(_ => SecretShapes.LooksLikeSecret(new string([.. Enumerable.Range(0, length).Select(_ => alphabet[random.Next(alphabet.Length)])])));
        Assert.True(recognised >= Keys * 0.995, $"{recognised} of {Keys} recognised");
    }
}
