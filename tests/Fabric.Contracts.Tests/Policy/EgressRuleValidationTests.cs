using Fabric.Contracts.Policy;
using Fabric.Contracts.Servers;

namespace Fabric.Contracts.Tests.Policy;

/// <summary>Egress rules in policies and egress targets: what the API refuses, naming the field.</summary>
public class EgressRuleValidationTests
{
    private static IReadOnlyDictionary<string, string[]> Validate(PolicyRule rule) =>
        PolicyValidator.Validate(new PolicyDocument("p", ["spiffe://td/servers/*"], [rule]));

    [Fact]
    public void Accepts_egress_rules() =>
        Assert.Empty(Validate(new PolicyRule("", PolicyEffect.Allow, Methods: ["GET", "POST"], Egress: "github", Paths: ["/repos/acme-corp/*"])));

    public static TheoryData<PolicyRule, string> Bad => new()
    {
        { new PolicyRule("github", PolicyEffect.Allow, Egress: "github"), "rules[0].server" },                     // both
        { new PolicyRule("", PolicyEffect.Allow, Egress: ""), "rules[0].egress" },
        { new PolicyRule("", PolicyEffect.Allow, Egress: "GitHub"), "rules[0].egress" },
        { new PolicyRule("", PolicyEffect.Allow, Egress: "github", Tools: ["echo"]), "rules[0].tools" },
        { new PolicyRule("", PolicyEffect.Allow, Egress: "github", When: new PolicyCondition(new Dictionary<string, string> { ["a"] = "b" })), "rules[0].when" },
        { new PolicyRule("", PolicyEffect.Allow, Methods: ["get"], Egress: "github"), "rules[0].methods[0]" },       // case-sensitive
        { new PolicyRule("", PolicyEffect.Allow, Methods: ["CONNECT"], Egress: "github"), "rules[0].methods[0]" },
        { new PolicyRule("", PolicyEffect.Allow, Methods: [], Egress: "github"), "rules[0].methods" },
        { new PolicyRule("", PolicyEffect.Allow, Egress: "github", Paths: []), "rules[0].paths" },
        { new PolicyRule("", PolicyEffect.Allow, Egress: "github", Paths: ["repos/*"]), "rules[0].paths[0]" },
        { new PolicyRule("github", PolicyEffect.Allow, Paths: ["/x"]), "rules[0].paths" },                          // paths on an MCP rule
        { new PolicyRule("", PolicyEffect.Allow), "rules[0].server" },
    };

    [Theory]
    [MemberData(nameof(Bad))]
    public void Refuses_bad_egress_rules_naming_the_field(PolicyRule rule, string field) =>
        Assert.Contains(field, Validate(rule).Keys);

    [Theory]
    [InlineData("http://api.example.com/", null, "upstream")]
    [InlineData("https://169.254.169.254/", null, "upstream")]
    [InlineData("https://api.example.com/", "relative/ca.pem", "tls.caFile")]
    [InlineData("https://api.example.com/?x=1", null, "upstream")]
    public void Refuses_bad_egress_targets_naming_the_field(string upstream, string? caFile, string field) =>
        Assert.Contains(field, McpServerValidator.ValidateEgressTarget("github", new EgressTargetInput(upstream, Tls: caFile is null ? null : new EgressTlsInput(caFile))).Keys);

    [Fact]
    public void Accepts_an_egress_target_with_a_shared_or_per_agent_credential_and_refuses_a_bad_header()
    {
        var credential = new CredentialBindingInput("local", "gh-token", PerWorkload: false, new InjectSpecInput("Authorization", "Bearer {secret}"));
        Assert.Empty(McpServerValidator.ValidateEgressTarget("github", new EgressTargetInput("https://api.github.com", credential, new EgressTlsInput("/etc/ssl/ca.pem"))));
        Assert.Empty(McpServerValidator.ValidateEgressTarget("github", new EgressTargetInput("https://api.github.com", credential with { PerWorkload = true })));
        Assert.Contains("credential.inject.header", McpServerValidator.ValidateEgressTarget("github",
            new EgressTargetInput("https://api.github.com", credential with { Inject = new InjectSpecInput("Host", "{secret}") })).Keys);
    }
}

/// <summary>The secret inside a rendered credential header, for placeholders.</summary>
public class InjectSpecExtractTests
{
    [Theory]
    [InlineData("Bearer {secret}", "Bearer sk-1", "sk-1")]
    [InlineData("{secret}", "sk-1", "sk-1")]
    [InlineData("token={secret}; v=2", "token=sk-1; v=2", "sk-1")]
    [InlineData("Bearer {secret}", "Basic sk-1", null)]
    [InlineData("Bearer", "Bearer", null)]
    public void Extracts_the_secret_a_format_rendered(string format, string rendered, string? secret) =>
        Assert.Equal(secret, new InjectSpec("Authorization", format).Extract(rendered));
}
