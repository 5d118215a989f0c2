namespace Fabric.Contracts.Hosting;

/// <summary>
/// Cluster settings shared by silos and edges (section <c>Fabric:Cluster</c>; environment form
/// <c>Fabric__Cluster__GatewayPort</c> …). The embedded default is localhost clustering.
/// </summary>
public sealed class ClusterOptions
{
    public const string Section = "Fabric:Cluster";

    public string Provider { get; set; } = "localhost";
    public int SiloPort { get; set; } = 11111;
    public int GatewayPort { get; set; } = 30000;
    public string ClusterId { get; set; } = "fabric";
    public string ServiceId { get; set; } = "fabric";
}
