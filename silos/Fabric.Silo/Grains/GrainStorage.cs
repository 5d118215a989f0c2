namespace Fabric.Silo.Grains;

public static class GrainStorage
{
    /// <summary>The storage provider every grain state is written to.</summary>
    public const string Name = "fabric";
}
