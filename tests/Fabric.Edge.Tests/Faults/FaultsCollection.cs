namespace Fabric.Edge.Tests.Faults;

/// <summary>
/// The fault tests start real processes (redis-server, silos, edges), stop and kill them and measure
/// recovery bounds: they run one at a time, and not alongside the rest of the suite.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class FaultsCollection
{
    public const string Name = "Faults";
}
