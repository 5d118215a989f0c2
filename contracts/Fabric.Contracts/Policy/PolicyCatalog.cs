using Fabric.Contracts.Identity;

namespace Fabric.Contracts.Policy;

/// <summary>
/// An immutable, compiled set of policies under one catalog version. Subject patterns are parsed
/// once here; <see cref="RulesFor"/> then only compares. Policies are ordered by name (ordinal)
/// so grants, and therefore the policy/rule a decision names, are the same on every silo and edge.
/// </summary>
/// <remarks>
/// Policies are validated (<see cref="PolicyValidator"/>) before they reach a catalog. A policy
/// that still cannot be compiled here (bad subject, missing rules, duplicate name) is a bug upstream;
/// the constructor throws <see cref="ArgumentException"/> rather than silently dropping it, because
/// a dropped deny policy would widen access.
/// </remarks>
public sealed class PolicyCatalog
{
    private readonly CompiledPolicy[] _policies;

    public PolicyCatalog(long version, IEnumerable<PolicyDocument> policies)
    {
        ArgumentNullException.ThrowIfNull(policies);
        Version = version;
        _policies = [.. policies.Select(Compile).OrderBy(p => p.Document.Name, StringComparer.Ordinal)];
        for (var i = 1; i < _policies.Length; i++)
        {
            if (string.Equals(_policies[i - 1].Document.Name, _policies[i].Document.Name, StringComparison.Ordinal))
            {
                throw new ArgumentException($"policy '{_policies[i].Document.Name}' appears more than once", nameof(policies));
            }
        }
        Policies = [.. _policies.Select(p => p.Document)];
    }

    public static PolicyCatalog Empty { get; } = new(0, []);

    public long Version { get; }

    /// <summary>The policies in evaluation order (by name).</summary>
    public IReadOnlyList<PolicyDocument> Policies { get; }

    /// <summary>
    /// The rules of every policy that has a subject matching <paramref name="workload"/>, whose
    /// server glob matches <paramref name="server"/>; in policy-name, then rule order.
    /// </summary>
    public IReadOnlyList<GrantedRule> RulesFor(SpiffeId workload, string server)
    {
        ArgumentNullException.ThrowIfNull(workload);
        ArgumentNullException.ThrowIfNull(server);
        List<GrantedRule>? rules = null;
        foreach (var policy in _policies)
        {
            if (!policy.Subjects.Any(s => s.Matches(workload)))
            {
                continue;
            }
            var document = policy.Document;
            for (var i = 0; i < document.Rules.Count; i++)
            {
                var rule = document.Rules[i];
                if (!rule.IsEgress && Glob.IsMatch(rule.Server, server))
                {
                    (rules ??= []).Add(new GrantedRule(document.Name, i, rule, document.Auth == PolicyAuth.Mtls));
                }
            }
        }
        return rules is null ? [] : rules.AsReadOnly();
    }

    public WorkloadGrant GrantFor(SpiffeId workload, string server, bool enabled) =>
        new(Version, enabled, RulesFor(workload, server));

    /// <summary>
    /// The egress rules of every policy that has a subject matching <paramref name="identity"/> (an MCP server's
    /// SPIFFE ID), whose egress glob matches <paramref name="target"/>; in policy-name, then rule order.
    /// </summary>
    public IReadOnlyList<GrantedRule> EgressRulesFor(SpiffeId identity, string target)
    {
        ArgumentNullException.ThrowIfNull(identity);
        ArgumentNullException.ThrowIfNull(target);
        List<GrantedRule>? rules = null;
        foreach (var policy in _policies)
        {
            if (!policy.Subjects.Any(s => s.Matches(identity)))
            {
                continue;
            }
            var document = policy.Document;
            for (var i = 0; i < document.Rules.Count; i++)
            {
                var rule = document.Rules[i];
                if (rule.Egress is { } egress && Glob.IsMatch(egress, target))
                {
                    (rules ??= []).Add(new GrantedRule(document.Name, i, rule, document.Auth == PolicyAuth.Mtls));
                }
            }
        }
        return rules is null ? [] : rules.AsReadOnly();
    }

    private static CompiledPolicy Compile(PolicyDocument policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        if (string.IsNullOrEmpty(policy.Name) || policy.Subjects is null || policy.Rules is null)
        {
            throw new ArgumentException($"policy '{policy.Name}' is incomplete: name, subjects and rules are required", nameof(policy));
        }
        var subjects = new SpiffeIdPattern[policy.Subjects.Count];
        for (var i = 0; i < subjects.Length; i++)
        {
            if (!SpiffeIdPattern.TryParse(policy.Subjects[i], out var pattern, out var error))
            {
                throw new ArgumentException($"policy '{policy.Name}' subjects[{i}]: {error}", nameof(policy));
            }
            subjects[i] = pattern;
        }
        for (var i = 0; i < policy.Rules.Count; i++)
        {
            if (policy.Rules[i] is not { Server: not null } rule || (rule.IsEgress ? rule.Server.Length != 0 : rule.Server.Length == 0))
            {
                throw new ArgumentException($"policy '{policy.Name}' rules[{i}] names neither exactly a server nor exactly an egress target", nameof(policy));
            }
        }
        return new CompiledPolicy(policy, subjects);
    }

    private sealed record CompiledPolicy(PolicyDocument Document, SpiffeIdPattern[] Subjects);
}
