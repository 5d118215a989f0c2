using Fabric.Contracts.Policy;

namespace Fabric.Silo.Grains;

[GenerateSerializer, Alias("fabric.policy-catalog-state")]
public sealed class PolicyCatalogState
{
    [Id(0)] public long Version { get; set; }
    [Id(1)] public Dictionary<string, VersionedPolicy> Policies { get; set; } = new(StringComparer.Ordinal);
}
