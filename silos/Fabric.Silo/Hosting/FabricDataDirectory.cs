namespace Fabric.Silo.Hosting;

/// <summary>
/// Where the silo keeps its local files (the admin token, the local secret store key):
/// <c>Fabric:DataDirectory</c>, else <c>$XDG_DATA_HOME/fabric</c>, else <c>~/.local/share/fabric</c>.
/// </summary>
public static class FabricDataDirectory
{
    public static string Resolve(IConfiguration configuration) => Fabric.Hosting.DataDirectory.Resolve(configuration);

    /// <summary>Reads a private file, or creates it with owner-only (0600) permissions from <paramref name="create"/>.</summary>
    public static string ReadOrCreatePrivateFile(string path, Func<string> create)
    {
        if (File.Exists(path))
        {
            return File.ReadAllText(path).Trim();
        }
        var value = create();
        // Another silo on this machine may have created it first: then use theirs.
        return Fabric.Hosting.PrivateFile.TryCreate(path, value) ? value : File.ReadAllText(path).Trim();
    }
}
