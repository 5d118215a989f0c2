using Fabric.Contracts.Policy;
using static Fabric.Contracts.Tests.Policy.PolicyRules;

namespace Fabric.Contracts.Tests.Policy;

public class PolicyValidatorTests
{
    private static readonly PolicyDocument Valid = new(
        "team-a.read_only",
        ["spiffe://td/agents/*", "spiffe://td/ci/runner"],
        [
            Allow(server: "files", tools: ["read_*"], when: new() { ["path"] = "/tmp/*" }),
            Deny(server: "git*", resources: ["file:///secrets/*"], prompts: ["?"]),
            Allow(server: "*", when: new() { ["dry_run"] = "true" }),
            Allow(server: "docs", prompts: ["summarize"], when: new() { ["style"] = "short" }),
        ]);

    [Fact]
    public void Accepts_a_valid_policy() => Assert.Empty(PolicyValidator.Validate(Valid));

    public static TheoryData<PolicyDocument, string> Invalid => new()
    {
        { Valid with { Name = "" }, "name" },
        { Valid with { Name = "Upper" }, "name" },
        { Valid with { Name = "-leading" }, "name" },
        { Valid with { Name = "has space" }, "name" },
        { Valid with { Name = "trailing-newline\n" }, "name" },
        { Valid with { Name = new string('a', 129) }, "name" },
        { Valid with { Subjects = [] }, "subjects" },
        { Valid with { Subjects = null! }, "subjects" },
        { Valid with { Subjects = ["spiffe://td/a", "not-a-spiffe-id"] }, "subjects[1]" },
        { Valid with { Subjects = ["spiffe://td/*/x"] }, "subjects[0]" },
        { Valid with { Subjects = [.. Enumerable.Repeat("spiffe://td/a", 1001)] }, "subjects" },
        { Valid with { Rules = [] }, "rules" },
        { Valid with { Rules = [.. Enumerable.Repeat(Allow(), 1001)] }, "rules" },
        { Valid with { Rules = [Allow(), null!] }, "rules[1]" },
        { Valid with { Rules = [Allow(), Allow(server: "")] }, "rules[1].server" },
        { Valid with { Rules = [Allow(), Allow(server: "Files")] }, "rules[1].server" },
        { Valid with { Rules = [Allow(), Allow(server: "files.example")] }, "rules[1].server" },
        { Valid with { Rules = [Allow(server: new string('a', 64))] }, "rules[0].server" },
        { Valid with { Rules = [Allow() with { Effect = (PolicyEffect)7 }] }, "rules[0].effect" },
        { Valid with { Rules = [Allow(tools: [])] }, "rules[0].tools" },
        { Valid with { Rules = [Allow(tools: ["ok", ""])] }, "rules[0].tools[1]" },
        { Valid with { Rules = [Allow(resources: ["a\u0000b"])] }, "rules[0].resources[0]" },
        { Valid with { Rules = [Allow(prompts: [new string('p', 1025)])] }, "rules[0].prompts[0]" },
        { Valid with { Rules = [Allow(tools: [.. Enumerable.Repeat("t", 1001)])] }, "rules[0].tools" },
        { Valid with { Rules = [Allow(), Allow(), Allow(tools: ["t"], when: new())] }, "rules[2].when.arguments" },
        { Valid with { Rules = [Allow(), Allow(), Allow(tools: ["t"], when: new() { ["path"] = "" })] }, "rules[2].when.arguments.path" },
        { Valid with { Rules = [Allow(tools: ["t"], when: new() { [""] = "*" })] }, "rules[0].when.arguments" },
        { Valid with { Rules = [Allow(resources: ["r"], when: new() { ["path"] = "*" })] }, "rules[0].when" },
        { Valid with { Rules = [Allow() with { When = new PolicyCondition(null!) }] }, "rules[0].when.arguments" },
        { Valid with { Rules = [Allow() with { Methods = [] }] }, "rules[0].methods" },
        { Valid with { Rules = [Allow() with { Methods = ["x/ok", "tools/call"] }] }, "rules[0].methods[1]" },
        { Valid with { Rules = [Allow() with { Methods = ["Tools/Call"] }] }, "rules[0].methods[0]" },   // a case variant of a known method
        { Valid with { Rules = [Allow() with { Methods = ["INITIALIZE"] }] }, "rules[0].methods[0]" },
        { Valid with { Rules = [Allow() with { Methods = ["x/*"] }] }, "rules[0].methods[0]" },
        { Valid with { Rules = [Allow() with { Methods = ["x custom"] }] }, "rules[0].methods[0]" },
        { Valid with { Rules = [Allow() with { Methods = [""] }] }, "rules[0].methods[0]" },
        { Valid with { Rules = [Allow() with { Methods = [new string('x', 257)] }] }, "rules[0].methods[0]" },
        { Valid with { Rules = [Allow(when: new() { ["a"] = "b" }) with { Methods = ["x/custom"] }] }, "rules[0].when" },
    };

    [Fact]
    public void Accepts_extension_methods() =>
        Assert.Empty(PolicyValidator.Validate(Valid with { Rules = [Allow() with { Methods = ["x/custom", "vendor.acme/sync", "tasks/list"] }] }));

    [Theory]
    [MemberData(nameof(Invalid))]
    public void Reports_the_field_that_is_wrong(PolicyDocument policy, string key)
    {
        var errors = PolicyValidator.Validate(policy);
        var messages = Assert.Contains(key, errors);
        Assert.NotEmpty(messages);
        Assert.All(messages, m => Assert.False(string.IsNullOrWhiteSpace(m)));
        Assert.Single(errors);
    }

    [Fact]
    public void Reports_every_wrong_field_at_once()
    {
        var policy = new PolicyDocument("BAD", ["x"], [Allow(server: "A", tools: [""])]);
        Assert.Equal(
            ["name", "rules[0].server", "rules[0].tools[0]", "subjects[0]"],
            PolicyValidator.Validate(policy).Keys.Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData("a")]
    [InlineData("0")]
    [InlineData("a.b_c-d")]
    public void Accepts_names(string name) => Assert.Empty(PolicyValidator.Validate(Valid with { Name = name }));

    [Theory]
    [InlineData("github-*")]
    [InlineData("*")]
    [InlineData("???")]
    [InlineData("a-very-long-server-name-that-is-exactly-sixty-three-characterss")]
    [InlineData("*a-very-long-server-name-that-is-exactly-sixty-three-characterss*")]
    public void Accepts_server_globs(string server) =>
        Assert.Empty(PolicyValidator.Validate(Valid with { Rules = [Allow(server: server)] }));
}
