namespace Fabric.Silo.Grains;

public static class GrainStorage
{
    /// <summary>The storage provider every grain state is written to.</summary>
    public const string Name = "fabric";
}

/// <summary>
/// Whether grain state outlives the silo: false in localhost mode (in-memory storage, gone with the process), true with
/// Redis. A grain deactivated because its silo is stopping skips writes that could only go to storage about to vanish
/// (the memory storage grains are deactivated alongside it, so such a write fails and only fills the log).
/// </summary>
public sealed record GrainStorageDurability(bool OutlivesSilo);
