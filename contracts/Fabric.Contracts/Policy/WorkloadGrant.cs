namespace Fabric.Contracts.Policy;

/// <summary>
/// Everything needed to decide any call of one workload to one server: whether the workload is
/// enabled, and the rules of the policies whose subjects match it that name the server, under one
/// catalog version. Edges cache grants and decide locally; the workload grain hands them out.
/// </summary>
[GenerateSerializer, Immutable, Alias("fabric.workload-grant")]
public sealed record WorkloadGrant(
    [property: Id(0)] long Version,
    [property: Id(1)] bool Enabled,
    [property: Id(2)] IReadOnlyList<GrantedRule> Rules)
{
    /// <summary>A grant that allows nothing: for a workload or server the fabric does not know.</summary>
    public static WorkloadGrant None { get; } = new(0, Enabled: false, []);

    // Per grant instance (reference identity, so record equality is untouched); collected with the grant.
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<WorkloadGrant, WorkloadGrant> BearerViews = [];

    /// <summary>
    /// This grant for a caller that proved its ID with a bearer JWT-SVID: the allow rules of <c>auth: mtls</c>
    /// policies dropped, every deny rule kept. Computed once per grant.
    /// </summary>
    public WorkloadGrant ForBearer() => BearerViews.GetValue(this, static grant =>
        grant.Rules.Any(r => r.MtlsOnly && r.Rule.Effect == PolicyEffect.Allow)
            ? grant with { Rules = [.. grant.Rules.Where(r => !(r.MtlsOnly && r.Rule.Effect == PolicyEffect.Allow))] }
            : grant);

    /// <summary>True when some allow rule names the server: the gate for protocol methods.</summary>
    public bool AllowsServer
    {
        get
        {
            for (var i = 0; i < Rules.Count; i++)
            {
                if (Rules[i].Rule.Effect == PolicyEffect.Allow)
                {
                    return true;
                }
            }
            return false;
        }
    }

    /// <summary>
    /// True when some rule matches operator-attested tool annotations: only then does the edge need the server's
    /// attestations (from its tool lock) to decide a tool call or filter a tool list, whatever the lock's mode.
    /// </summary>
    public bool MatchesAnnotations
    {
        get
        {
            for (var i = 0; i < Rules.Count; i++)
            {
                if (Rules[i].Rule.Annotations is not null)
                {
                    return true;
                }
            }
            return false;
        }
    }

    /// <summary>True when some rule carries a budget (<c>limit</c>): only then is a tool call charged.</summary>
    public bool HasLimits
    {
        get
        {
            for (var i = 0; i < Rules.Count; i++)
            {
                if (Rules[i].Rule.Limit is not null)
                {
                    return true;
                }
            }
            return false;
        }
    }

    /// <summary>
    /// True when some rule has an argument constraint (<c>when.arguments</c>): only then can a decision read a
    /// call's arguments, so only then does the edge render them.
    /// </summary>
    public bool ConstrainsArguments
    {
        get
        {
            for (var i = 0; i < Rules.Count; i++)
            {
                if (Rules[i].Rule.When?.Arguments is not null)
                {
                    return true;
                }
            }
            return false;
        }
    }
}

/// <summary>A rule with the policy it came from and its index in that policy; <see cref="MtlsOnly"/> from the policy's <c>auth</c>.</summary>
[GenerateSerializer, Immutable, Alias("fabric.granted-rule")]
public sealed record GrantedRule(
    [property: Id(0)] string Policy,
    [property: Id(1)] int Index,
    [property: Id(2)] PolicyRule Rule,
    [property: Id(3)] bool MtlsOnly = false);
