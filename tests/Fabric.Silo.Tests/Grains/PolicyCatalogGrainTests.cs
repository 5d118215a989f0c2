using System.Text.Json;
using Fabric.Contracts.Grains;
using Fabric.Contracts.Identity;
using Fabric.Contracts.Policy;

namespace Fabric.Silo.Tests.Grains;

/// <summary>
/// The catalog is the cluster's one "default" grain, shared by every test of the collection (which
/// runs them one at a time): tests give their policies unique names and subjects in a trust domain
/// of their own, and measure versions relative to where they found them.
/// </summary>
[Collection(ClusterCollectionDefinition.Name)]
public sealed class PolicyCatalogGrainTests(ClusterFixture fixture)
{
    private IPolicyCatalogGrain Catalog => fixture.Client.Catalog();

    [Fact]
    public async Task Every_accepted_put_and_delete_bumps_the_version_by_exactly_one()
    {
        var td = NewTrustDomain();
        var start = await CurrentVersionAsync();

        var first = await Catalog.PutAsync(Allow("first-" + td, $"spiffe://{td}/*", "srv"));
        var second = await Catalog.PutAsync(Allow("second-" + td, $"spiffe://{td}/*", "srv"));
        var replaced = await Catalog.PutAsync(Allow("first-" + td, $"spiffe://{td}/a", "srv"));
        var deleted = await Catalog.DeleteAsync("first-" + td);

        Assert.Equal(start + 1, first.Version);
        Assert.Equal(start + 2, second.Version);
        Assert.Equal(start + 3, replaced.Version);
        Assert.Equal(start + 4, deleted);
        Assert.Equal(start + 4, await CurrentVersionAsync());
        Assert.Equal(start + 2, (await Catalog.GetAsync("second-" + td))!.Version);
        Assert.Null(await Catalog.GetAsync("first-" + td));
    }

    [Fact]
    public async Task Deleting_an_unknown_policy_returns_null_and_leaves_the_version()
    {
        var start = await CurrentVersionAsync();

        Assert.Null(await Catalog.DeleteAsync("never-" + NewTrustDomain()));

        Assert.Equal(start, await CurrentVersionAsync());
    }

    /// <summary>Policies the validator rejects, by the field it names.</summary>
    private static PolicyDocument Rejected(string name, string field) => field switch
    {
        "subjects[0]" => new(name, ["spiffe://fabric.local/a/*/b"], [new PolicyRule("srv", PolicyEffect.Deny)]),
        "subjects" => new(name, [], [new PolicyRule("srv", PolicyEffect.Deny)]),
        "rules[0].server" => new(name, ["spiffe://fabric.local/a"], [new PolicyRule("Bad_Server", PolicyEffect.Deny)]),
        "rules[0].effect" => new(name, ["spiffe://fabric.local/a"], [new PolicyRule("srv", (PolicyEffect)7)]),
        "rules[0].tools" => new(name, ["spiffe://fabric.local/a"], [new PolicyRule("srv", PolicyEffect.Allow, Tools: [])]),
        "rules[0].when" => new(name, ["spiffe://fabric.local/a"],
            [new PolicyRule("srv", PolicyEffect.Deny, Resources: ["r"], When: new PolicyCondition(new Dictionary<string, string> { ["p"] = "x" }))]),
        _ => throw new ArgumentOutOfRangeException(nameof(field)),
    };

    [Theory]
    [InlineData("subjects[0]")]
    [InlineData("subjects")]
    [InlineData("rules[0].server")]
    [InlineData("rules[0].effect")]
    [InlineData("rules[0].tools")]
    [InlineData("rules[0].when")]
    public async Task A_rejected_policy_leaves_the_version_and_the_policy_in_force(string field)
    {
        var td = NewTrustDomain();
        var name = "kept-" + td;
        var accepted = await Catalog.PutAsync(Allow(name, $"spiffe://{td}/*", "srv"));
        var before = await Catalog.GetAsync(name);
        var rejected = Rejected(name, field);

        var result = await Catalog.PutAsync(rejected);

        Assert.Null(result.Version);
        Assert.NotNull(result.Errors);
        Assert.Contains(field, result.Errors.Keys);
        Assert.Equal(accepted.Version, await CurrentVersionAsync());
        var after = await Catalog.GetAsync(name);
        // Records compare their lists by reference: compare the wire shapes instead.
        Assert.Equal(JsonSerializer.Serialize(before), JsonSerializer.Serialize(after));
        Assert.Equal($"spiffe://{td}/*", Assert.Single(after!.Policy.Subjects));
        var (_, rules) = await Catalog.GetRulesAsync(SpiffeId.Parse($"spiffe://{td}/agent"), "srv");
        Assert.Equal(PolicyEffect.Allow, Assert.Single(rules).Rule.Effect);
    }

    [Fact]
    public async Task GetRules_returns_only_the_rules_of_policies_whose_subjects_match_and_that_name_the_server()
    {
        var td = NewTrustDomain();
        var team = new PolicyDocument("a-team-" + td, [$"spiffe://{td}/team/*"],
        [
            new PolicyRule("gh-*", PolicyEffect.Allow, Tools: ["read_*"]),
            new PolicyRule("jira", PolicyEffect.Allow),
        ]);
        var other = new PolicyDocument("b-other-" + td, [$"spiffe://{td}/other"], [new PolicyRule("gh-main", PolicyEffect.Deny)]);
        var bot = new PolicyDocument("c-bot-" + td, [$"spiffe://{td}/team/bot", $"spiffe://{td}/ops/*"],
        [
            new PolicyRule("jira", PolicyEffect.Deny, Tools: ["delete_*"]),
            new PolicyRule("gh-main", PolicyEffect.Deny, Tools: ["push"]),
        ]);
        await Catalog.PutAsync(team);
        await Catalog.PutAsync(other);
        var version = (await Catalog.PutAsync(bot)).Version;

        async Task<string[]> Rules(string workload, string server)
        {
            var (v, rules) = await Catalog.GetRulesAsync(SpiffeId.Parse(workload), server);
            Assert.Equal(version, v);
            return [.. rules.Select(r => $"{r.Policy.Split('-')[0]}/{r.Index}")];
        }

        Assert.Equal(["a/0", "c/1"], await Rules($"spiffe://{td}/team/bot", "gh-main"));
        Assert.Equal(["a/1", "c/0"], await Rules($"spiffe://{td}/team/bot", "jira"));
        Assert.Equal(["a/0"], await Rules($"spiffe://{td}/team/alice", "gh-docs"));
        Assert.Equal(["b/0"], await Rules($"spiffe://{td}/other", "gh-main"));
        Assert.Equal(["c/1"], await Rules($"spiffe://{td}/ops/deployer", "gh-main"));
        // "/team/*" covers IDs under /team/, not /team itself; nothing names "wiki"; other trust domains see nothing.
        Assert.Empty(await Rules($"spiffe://{td}/team", "gh-main"));
        Assert.Empty(await Rules($"spiffe://{td}/team/bot", "wiki"));
        Assert.Empty(await Rules($"spiffe://x{td}/team/bot", "gh-main"));
    }

    [Fact]
    public async Task Policies_and_version_survive_deactivation()
    {
        var td = NewTrustDomain();
        var put = await Catalog.PutAsync(Allow("durable-" + td, $"spiffe://{td}/*", "srv"));

        await fixture.Cluster.DeactivateAsync(Catalog);

        Assert.Equal(put.Version, await CurrentVersionAsync());
        Assert.Equal(put.Version, (await Catalog.GetAsync("durable-" + td))!.Version);
        var (_, rules) = await Catalog.GetRulesAsync(SpiffeId.Parse($"spiffe://{td}/x"), "srv");
        Assert.Single(rules);
    }

    [Fact]
    public async Task List_returns_policies_ordered_by_name()
    {
        var td = NewTrustDomain();
        await Catalog.PutAsync(Allow("zz-" + td, $"spiffe://{td}/*", "srv"));
        await Catalog.PutAsync(Allow("aa-" + td, $"spiffe://{td}/*", "srv"));

        var names = (await Catalog.ListAsync()).Select(p => p.Policy.Name).ToList();

        Assert.Equal(names.Order(StringComparer.Ordinal), names);
        Assert.Contains("aa-" + td, names);
        Assert.Contains("zz-" + td, names);
    }

    private async Task<long> CurrentVersionAsync() =>
        (await Catalog.GetRulesAsync(SpiffeId.Parse("spiffe://version.probe/x"), "none")).Version;

    private static PolicyDocument Allow(string name, string subject, string server) =>
        new(name, [subject], [new PolicyRule(server, PolicyEffect.Allow)]);

    private static string NewTrustDomain() => "t" + Guid.NewGuid().ToString("N")[..12] + ".test";
}
