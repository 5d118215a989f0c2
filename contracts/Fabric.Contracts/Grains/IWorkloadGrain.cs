using Fabric.Contracts.Policy;

namespace Fabric.Contracts.Grains;

/// <summary>One workload identity, keyed by its SPIFFE ID. Decides for that identity.</summary>
[Alias("fabric.IWorkloadGrain")]
public interface IWorkloadGrain : IGrainWithStringKey
{
    /// <summary>The rules that apply to this workload on <paramref name="server"/>; edges cache it.</summary>
    [Alias("GetGrant")]
    ValueTask<WorkloadGrant> GetGrantAsync(string server);

    /// <summary>Decides one call without side effects (the what-if / explain path).</summary>
    [Alias("Decide")]
    ValueTask<Decision> DecideAsync(string server, McpCall message);

    [Alias("Get")]
    ValueTask<WorkloadStatus> GetAsync();

    [Alias("SetEnabled")]
    ValueTask<WorkloadStatus> SetEnabledAsync(bool enabled);

    /// <summary>Adds decided-call counts reported by edges with their audit batches.</summary>
    [Alias("Record")]
    ValueTask RecordAsync(long allowed, long denied);
}

[GenerateSerializer, Immutable, Alias("fabric.workload-status")]
public sealed record WorkloadStatus(
    [property: Id(0)] string SpiffeId,
    [property: Id(1)] bool Enabled,
    [property: Id(2)] long Allowed,
    [property: Id(3)] long Denied,
    [property: Id(4)] DateTimeOffset? LastSeen);
