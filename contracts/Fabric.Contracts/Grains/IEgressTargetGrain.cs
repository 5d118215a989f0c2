using Fabric.Contracts.Servers;

namespace Fabric.Contracts.Grains;

/// <summary>One egress target, keyed by its name. Reads interleave for the same reason as <see cref="IMcpServerGrain.GetAsync"/>.</summary>
[Alias("fabric.IEgressTargetGrain")]
public interface IEgressTargetGrain : IGrainWithStringKey
{
    [Alias("Get"), AlwaysInterleave]
    ValueTask<EgressTargetDefinition?> GetAsync();

    /// <summary>Stores a validated target; pushes an invalidation to every edge before returning.</summary>
    [Alias("Put")]
    ValueTask<EgressTargetDefinition> PutAsync(Uri upstream, CredentialBinding? credential, string? caFile);

    [Alias("Delete")]
    ValueTask<bool> DeleteAsync();
}
