using Fabric.Contracts.Identity;
using Fabric.Contracts.Policy;
using static Fabric.Contracts.Tests.Policy.PolicyRules;

namespace Fabric.Contracts.Tests.Policy;

public class PolicyCatalogTests
{
    private static readonly SpiffeId Agent = SpiffeId.Parse("spiffe://td/agents/a");

    [Fact]
    public void Returns_rules_of_matching_policies_in_name_then_rule_order()
    {
        var catalog = new PolicyCatalog(5,
        [
            new PolicyDocument("zeta", ["spiffe://td/*"], [Allow(server: "files"), Deny(server: "mail"), Deny(server: "f*")]),
            new PolicyDocument("alpha", ["spiffe://td/agents/a"], [Allow(server: "other"), Allow(server: "files", tools: ["x"])]),
            new PolicyDocument("mid", ["spiffe://td/agents/b"], [Allow(server: "files")]),   // other subject
        ]);

        var rules = catalog.RulesFor(Agent, "files");

        Assert.Equal(
            [("alpha", 1), ("zeta", 0), ("zeta", 2)],
            rules.Select(r => (r.Policy, r.Index)));
        Assert.Same(catalog.Policies[0].Rules[1], rules[0].Rule);
        Assert.Equal(["alpha", "mid", "zeta"], catalog.Policies.Select(p => p.Name));
    }

    [Fact]
    public void A_policy_applies_when_any_subject_matches()
    {
        var catalog = new PolicyCatalog(1, [new PolicyDocument("p", ["spiffe://other/x", "spiffe://td/agents/*"], [Allow()])]);
        Assert.Single(catalog.RulesFor(Agent, "files"));
        Assert.Empty(catalog.RulesFor(SpiffeId.Parse("spiffe://td/ci/x"), "files"));
    }

    [Fact]
    public void Grants_carry_version_enabled_and_rules()
    {
        var catalog = new PolicyCatalog(17, [new PolicyDocument("p", ["spiffe://td/*"], [Allow()])]);
        var grant = catalog.GrantFor(Agent, "files", enabled: false);
        Assert.Equal(17, grant.Version);
        Assert.False(grant.Enabled);
        Assert.Single(grant.Rules);
        Assert.Empty(catalog.GrantFor(Agent, "mail", enabled: true).Rules);
    }

    [Fact]
    public void The_empty_catalog_grants_nothing()
    {
        Assert.Equal(0, PolicyCatalog.Empty.Version);
        Assert.Empty(PolicyCatalog.Empty.RulesFor(Agent, "files"));
    }

    public static TheoryData<PolicyDocument[]> Uncompilable => new()
    {
        { [new PolicyDocument("p", ["spiffe://td/*/x"], [Allow()])] },
        { [new PolicyDocument("p", ["spiffe://td"], [Allow()])] },
        { [new PolicyDocument("p", null!, [Allow()])] },
        { [new PolicyDocument("p", ["spiffe://td/*"], [null!])] },
        { [new PolicyDocument("p", ["spiffe://td/*"], [Allow()]), new PolicyDocument("p", ["spiffe://td/*"], [Deny()])] },
    };

    [Theory]
    [MemberData(nameof(Uncompilable))]
    public void Refuses_policies_it_cannot_compile(PolicyDocument[] policies) =>
        Assert.Throws<ArgumentException>(() => new PolicyCatalog(1, policies));
}
