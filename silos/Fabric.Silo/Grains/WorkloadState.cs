namespace Fabric.Silo.Grains;

[GenerateSerializer, Alias("fabric.workload-state")]
public sealed class WorkloadState
{
    [Id(0)] public bool Disabled { get; set; }
    [Id(1)] public long Allowed { get; set; }
    [Id(2)] public long Denied { get; set; }
    [Id(3)] public DateTimeOffset? LastSeen { get; set; }
}
