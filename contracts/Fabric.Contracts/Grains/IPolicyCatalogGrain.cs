using Fabric.Contracts.Identity;
using Fabric.Contracts.Policy;

namespace Fabric.Contracts.Grains;

/// <summary>The versioned set of policies (key "default"). Every change bumps the version.</summary>
[Alias("fabric.IPolicyCatalogGrain")]
public interface IPolicyCatalogGrain : IGrainWithStringKey
{
    /// <summary>Validates and stores a policy. A rejected policy leaves the catalog unchanged.</summary>
    [Alias("Put")]
    ValueTask<PolicyPutResult> PutAsync(PolicyDocument policy);

    [Alias("Delete")]
    ValueTask<long?> DeleteAsync(string name);

    [Alias("Get")]
    ValueTask<VersionedPolicy?> GetAsync(string name);

    [Alias("List")]
    ValueTask<IReadOnlyList<VersionedPolicy>> ListAsync();

    /// <summary>The rules of every policy whose subjects match <paramref name="workload"/> and that name <paramref name="server"/>.</summary>
    [Alias("GetRules")]
    ValueTask<(long Version, IReadOnlyList<GrantedRule> Rules)> GetRulesAsync(SpiffeId workload, string server);
}

[GenerateSerializer, Immutable, Alias("fabric.versioned-policy")]
public sealed record VersionedPolicy(
    [property: Id(0)] PolicyDocument Policy,
    [property: Id(1)] long Version,
    [property: Id(2)] DateTimeOffset UpdatedAt);

/// <summary>Either the catalog version the policy was stored under, or field errors.</summary>
[GenerateSerializer, Immutable, Alias("fabric.policy-put-result")]
public sealed record PolicyPutResult(
    [property: Id(0)] long? Version,
    [property: Id(1)] IReadOnlyDictionary<string, string[]>? Errors);
