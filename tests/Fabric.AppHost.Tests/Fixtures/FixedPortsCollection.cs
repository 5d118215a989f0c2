namespace Fabric.AppHost.Tests.Fixtures;

/// <summary>
/// The AppHost binds fixed ports (silo 5080, Orleans 11111/30000, edge 7443, demo-mcp 5090), so
/// nothing that might bind them may run beside it. The smoke test is alone in its assembly; this
/// also keeps it from running beside any test added here later.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class FixedPortsCollection
{
    public const string Name = "AppHost fixed ports";

    /// <summary>Every port AppHost.cs (and the silo's Orleans defaults) pins.</summary>
    public static readonly int[] Ports = [5080, 5443, 7443, 5090, 5450, 7480, 11111, 30000];
}
