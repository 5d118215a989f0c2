using Fabric.Contracts.Servers;

namespace Fabric.Contracts.Tests.Servers;

public class McpServerValidatorTests
{
    private static readonly McpServerInput Valid = new(
        "https://tools.example.com/mcp",
        "spiffe://td/servers/tools",
        new CredentialBindingInput("local", "tools-token", PerWorkload: false, new InjectSpecInput("Authorization", "Bearer {secret}")));

    [Fact]
    public void Accepts_a_full_definition() => Assert.Empty(McpServerValidator.Validate("tools", Valid));

    [Fact]
    public void Accepts_a_bare_definition() => Assert.Empty(McpServerValidator.Validate("tools", new McpServerInput("https://x.example/")));

    [Theory]
    [InlineData("https://tools.example.com/mcp")]
    [InlineData("https://tools.example.com:8443/")]
    [InlineData("https://10.0.0.5/mcp")]
    [InlineData("http://localhost:3000/mcp")]
    [InlineData("http://LOCALHOST/mcp")]
    [InlineData("http://127.0.0.1:8080/mcp")]
    [InlineData("http://127.10.20.30/mcp")]
    [InlineData("http://[::1]:8080/mcp")]
    public void Accepts_upstreams(string upstream) =>
        Assert.Empty(McpServerValidator.Validate("tools", Valid with { Upstream = upstream }));

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("http://tools.example.com/mcp")]         // plain http off the host
    [InlineData("http://10.0.0.5/mcp")]
    [InlineData("http://128.0.0.1/mcp")]
    [InlineData("http://[::2]/mcp")]
    [InlineData("http://localhost.evil.com/mcp")]
    [InlineData("ftp://tools.example.com/")]
    [InlineData("file:///etc/passwd")]
    [InlineData("/relative/path")]
    [InlineData("tools.example.com/mcp")]
    [InlineData("https://user:pass@tools.example.com/mcp")]
    [InlineData("https://tools.example.com/mcp#frag")]
    [InlineData("https://tools.example.com/mcp?key=abc")]
    [InlineData(" https://tools.example.com/mcp")]
    [InlineData("https://tools.example.com/m\ncp")]
    public void Rejects_upstreams(string? upstream)
    {
        var errors = McpServerValidator.Validate("tools", Valid with { Upstream = upstream });
        Assert.Equal(["upstream"], errors.Keys);
    }

    [Theory]
    [InlineData("http://0x7f000001/")]
    [InlineData("http://2130706433/")]
    [InlineData("http://127.1/")]
    [InlineData("http://0177.0.0.1/")]
    [InlineData("http://[0:0:0:0:0:0:0:1]/")]
    [InlineData("https://[::ffff:a9fe:a9fe]/")]
    [InlineData("https://[fe80::1%25eth0]/")]
    public void Rejects_ip_literals_not_written_canonically(string upstream)
    {
        var errors = McpServerValidator.Validate("tools", Valid with { Upstream = upstream }, allowLinkLocal: true);
        Assert.Contains("canonical", Assert.Single(errors["upstream"]), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("https://169.254.169.254/")]
    [InlineData("https://169.254.0.0/")]
    [InlineData("https://[fe80::1]/")]
    [InlineData("https://[febf::1]/")]
    [InlineData("https://[::ffff:169.254.169.254]/")]
    public void Link_local_upstreams_need_allow_link_local(string upstream)
    {
        Assert.Equal(["upstream"], McpServerValidator.Validate("tools", Valid with { Upstream = upstream }).Keys);
        Assert.Empty(McpServerValidator.Validate("tools", Valid with { Upstream = upstream }, allowLinkLocal: true));
    }

    [Theory]
    [InlineData("https://0.0.0.0/")]
    [InlineData("https://0.255.255.255/")]
    [InlineData("https://[::]/")]
    [InlineData("https://[::ffff:0.0.0.0]/")]
    public void Unspecified_upstreams_are_refused_even_with_allow_link_local(string upstream) =>
        Assert.Equal(["upstream"], McpServerValidator.Validate("tools", Valid with { Upstream = upstream }, allowLinkLocal: true).Keys);

    [Fact]
    public void A_missing_body_is_a_missing_upstream() =>
        Assert.Equal(["upstream"], McpServerValidator.Validate("tools", null).Keys);

    [Theory]
    [InlineData("a", true)]
    [InlineData("github", true)]
    [InlineData("git-hub-2", true)]
    [InlineData("0", true)]
    [InlineData("", false)]
    [InlineData(null, false)]
    [InlineData("-github", false)]
    [InlineData("github-", false)]
    [InlineData("-", false)]
    [InlineData("GitHub", false)]
    [InlineData("git_hub", false)]
    [InlineData("git.hub", false)]
    [InlineData("git hub", false)]
    [InlineData("git%2Fhub", false)]
    public void Checks_names(string? name, bool valid)
    {
        Assert.Equal(valid, McpServerValidator.IsValidName(name));
        Assert.Equal(valid, !McpServerValidator.Validate(name, Valid).ContainsKey("name"));
    }

    [Fact]
    public void Names_are_at_most_63_characters()
    {
        Assert.True(McpServerValidator.IsValidName(new string('a', 63)));
        Assert.False(McpServerValidator.IsValidName(new string('a', 64)));
    }

    [Theory]
    [InlineData("spiffe://td")]                  // trust domain, no workload path
    [InlineData("spiffe://td/*")]                // a pattern, not an ID
    [InlineData("https://td/x")]
    [InlineData("")]
    public void Rejects_identities(string identity) =>
        Assert.Equal(["identity"], McpServerValidator.Validate("tools", Valid with { Identity = identity }).Keys);

    private static readonly McpServerInput ViaIngress = new(
        "https://ingress.b.example/mcp/github", "spiffe://b.test/fabric/edge/ingress-1", AgentJwtAudience: "spiffe://b.test/mcp/github");

    [Fact]
    public void Accepts_a_server_of_a_federated_fabric_behind_its_ingress_edge() =>
        Assert.Empty(McpServerValidator.Validate("github", ViaIngress));

    [Theory]
    // The audience: a workload SPIFFE ID, never a fabric component.
    [InlineData("https://ingress.b.example/m", "spiffe://b.test/fabric/edge/i", "b.test/mcp/github", "agentJwtAudience")]
    [InlineData("https://ingress.b.example/m", "spiffe://b.test/fabric/edge/i", "spiffe://b.test", "agentJwtAudience")]
    [InlineData("https://ingress.b.example/m", "spiffe://b.test/fabric/edge/i", "spiffe://b.test/fabric/silo/s", "agentJwtAudience")]
    // The pinned identity: an edge of the audience's trust domain, so the token goes to nobody else.
    [InlineData("https://ingress.b.example/m", null, "spiffe://b.test/mcp/github", "identity")]
    [InlineData("https://ingress.b.example/m", "spiffe://b.test/servers/github", "spiffe://b.test/mcp/github", "identity")]
    [InlineData("https://ingress.b.example/m", "spiffe://c.test/fabric/edge/i", "spiffe://b.test/mcp/github", "identity")]
    [InlineData("https://ingress.b.example/m", "spiffe://b.test/fabric/edge/i/x", "spiffe://b.test/mcp/github", "identity")]
    // mTLS with this edge's SVID needs https.
    [InlineData("http://127.0.0.1:9000/m", "spiffe://b.test/fabric/edge/i", "spiffe://b.test/mcp/github", "upstream")]
    public void Refuses_ingress_servers_naming_the_field(string upstream, string? identity, string audience, string field) =>
        Assert.Equal([field], McpServerValidator.Validate("github", new McpServerInput(upstream, identity, AgentJwtAudience: audience)).Keys);

    [Fact]
    public void An_ingress_server_has_no_credential_of_this_fabric() =>
        Assert.Equal(["credential"], McpServerValidator.Validate("github", ViaIngress with { Credential = Valid.Credential }).Keys);

    public static TheoryData<CredentialBindingInput, string> BadCredentials => new()
    {
        { Cred(source: null), "credential.source" },
        { Cred(source: "s3"), "credential.source" },
        { Cred(reference: null), "credential.ref" },
        { Cred(reference: "has/slash"), "credential.ref" },
        { Cred(reference: ".."), "credential.ref" },
        { Cred(reference: new string('r', 129)), "credential.ref" },
        { Cred() with { Inject = null }, "credential.inject" },
        { Cred(header: null), "credential.inject.header" },
        { Cred(header: "X-Api-Key\r\nEvil: 1"), "credential.inject.header" },
        { Cred(header: "X Api Key"), "credential.inject.header" },
        { Cred(header: "X-Api-Key:"), "credential.inject.header" },
        { Cred(header: ":authority"), "credential.inject.header" },
        { Cred(header: "Host"), "credential.inject.header" },
        { Cred(header: "content-length"), "credential.inject.header" },
        { Cred(header: "Transfer-Encoding"), "credential.inject.header" },
        { Cred(header: "Connection"), "credential.inject.header" },
        { Cred(header: "Upgrade"), "credential.inject.header" },
        { Cred(header: "TE"), "credential.inject.header" },
        { Cred(header: "Trailer"), "credential.inject.header" },
        { Cred(header: "Keep-Alive"), "credential.inject.header" },
        { Cred(header: "Proxy-Authorization"), "credential.inject.header" },
        { Cred(header: "X-Forwarded-For"), "credential.inject.header" },
        { Cred(header: "Mcp-Session-Id"), "credential.inject.header" },
        { Cred(header: "mcp-protocol-version"), "credential.inject.header" },
        { Cred(header: "Mcp-Method"), "credential.inject.header" },
        { Cred(header: "Mcp-Name"), "credential.inject.header" },
        { Cred(header: "traceparent"), "credential.inject.header" },
        { Cred(format: null), "credential.inject.format" },
        { Cred(format: "Bearer"), "credential.inject.format" },
        { Cred(format: "{secret}{secret}"), "credential.inject.format" },
        { Cred(format: "Bearer {secret}\r\nX-Evil: 1"), "credential.inject.format" },
        { Cred(format: "Bearer {secret}\n"), "credential.inject.format" },
        { Cred(format: "Bearer {secret}\0"), "credential.inject.format" },
        { Cred(format: "Bearer {secret} é"), "credential.inject.format" },
        { Cred(format: "{secret}" + new string('x', 1017)), "credential.inject.format" },
    };

    [Theory]
    [MemberData(nameof(BadCredentials))]
    public void Rejects_credential_bindings(CredentialBindingInput credential, string key)
    {
        var errors = McpServerValidator.Validate("tools", Valid with { Credential = credential });
        Assert.Equal([key], errors.Keys);
        Assert.All(errors[key], m => Assert.False(string.IsNullOrWhiteSpace(m)));
    }

    [Theory]
    [InlineData("Authorization", "Bearer {secret}")]
    [InlineData("X-Api-Key", "{secret}")]
    [InlineData("Cookie", "session={secret}")]
    [InlineData("x-custom_token~1", "Token\t{secret}")]
    public void Accepts_injections(string header, string format) =>
        Assert.Empty(McpServerValidator.Validate("tools", Valid with { Credential = Cred(header: header, format: format) }));

    [Fact]
    public void Says_when_a_source_is_not_configured_on_this_fabric()
    {
        var input = Valid with { Credential = new CredentialBindingInput("vault-dynamic", null, true, new InjectSpecInput("Authorization", "Bearer {secret}"), Path: "database/creds/ro", Field: "password") };
        Assert.Empty(McpServerValidator.Validate("tools", input));
        var errors = McpServerValidator.Validate("tools", input, ["local"]);
        Assert.Contains("not configured", Assert.Single(errors["credential.source"]), StringComparison.Ordinal);
    }

    public static TheoryData<CredentialBindingInput, string[]> SourceShapes => new()
    {
        { new("vault-kv", null, Inject: Inject, Mount: "secret", Path: "mcp/github", Field: "token"), [] },
        { new("vault-kv", null, Inject: Inject, Mount: "secret", Path: "mcp/github", Field: "token", Version: "3"), [] },
        { new("vault-kv", null, Inject: Inject, Mount: "secret", Path: "mcp/github"), ["credential.field"] },
        { new("vault-kv", null, Inject: Inject, Mount: "secret", Path: "../x", Field: "token", Version: "0"), ["credential.path", "credential.version"] },
        { new("vault-kv", "tools-token", Inject: Inject, Mount: "secret", Path: "p", Field: "f"), ["credential.ref"] },
        { new("vault-dynamic", null, true, Inject, Path: "database/creds/readonly", Field: "password"), [] },
        { new("vault-dynamic", null, true, Inject, Mount: "db", Path: "database/creds/readonly", Field: "password"), ["credential.mount"] },
        { new("azure-keyvault", null, Inject: Inject, Name: "github-token"), [] },
        { new("azure-keyvault", null, Inject: Inject, Name: "github-token", Version: "0123456789abcdef0123456789abcdef"), [] },
        { new("azure-keyvault", null, Inject: Inject, Name: "github_token", Version: "v1"), ["credential.name", "credential.version"] },
        { new("local", null, Inject: Inject), ["credential.ref"] },
    };

    private static InjectSpecInput Inject => new("Authorization", "Bearer {secret}");

    [Theory]
    [MemberData(nameof(SourceShapes))]
    public void Validates_each_sources_references(CredentialBindingInput credential, string[] expectedKeys)
    {
        var errors = McpServerValidator.Validate("tools", Valid with { Credential = credential });
        Assert.Equal(expectedKeys, errors.Keys.Order(StringComparer.Ordinal));
        if (expectedKeys.Length == 0)
        {
            var binding = credential.ToBinding();
            Assert.Equal((credential.Mount, credential.Path, credential.Field, credential.Name, credential.Version),
                (binding.Mount, binding.Path, binding.Field, binding.Name, binding.Version));
        }
    }

    [Fact]
    public void Reports_every_wrong_field_at_once()
    {
        var input = new McpServerInput("http://remote/", "spiffe://td", Cred(source: "x", header: "Host", format: "none"));
        Assert.Equal(
            ["credential.inject.format", "credential.inject.header", "credential.source", "identity", "name", "upstream"],
            McpServerValidator.Validate("Bad!", input).Keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Validates_the_stored_form_the_same_way()
    {
        var binding = Valid.Credential!.ToBinding();
        Assert.Equal(new CredentialBinding("local", "tools-token", false, new InjectSpec("Authorization", "Bearer {secret}")), binding);
        Assert.Empty(McpServerValidator.Validate("tools", new Uri(Valid.Upstream!), Valid.Identity, binding));
        Assert.Equal(["upstream"], McpServerValidator.Validate("tools", new Uri("http://remote/"), null, null).Keys);
    }

    [Theory]
    [InlineData("tools-token", true)]
    [InlineData("A.b_C-1", true)]
    [InlineData(".hidden", true)]
    [InlineData(".", false)]
    [InlineData("..", false)]
    [InlineData("", false)]
    [InlineData(null, false)]
    [InlineData("a/b", false)]
    [InlineData("a b", false)]
    public void Checks_secret_names(string? name, bool valid)
    {
        Assert.Equal(valid, McpServerValidator.IsValidSecretName(name));
        Assert.Equal(valid, McpServerValidator.ValidateSecretName(name) is null);
    }

    private static CredentialBindingInput Cred(
        string? source = "local", string? reference = "tools-token", string? header = "Authorization", string? format = "Bearer {secret}") =>
        new(source, reference, PerWorkload: true, new InjectSpecInput(header, format));
}
