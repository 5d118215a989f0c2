namespace Fabric.Silo.Hosting;

/// <summary>
/// Where the silo keeps its local files (the admin token, the local secret store key):
/// <c>Fabric:DataDirectory</c>, else <c>$XDG_DATA_HOME/fabric</c>, else <c>~/.local/share/fabric</c>.
/// </summary>
public static class FabricDataDirectory
{
    public static string Resolve(IConfiguration configuration)
    {
        if (configuration["Fabric:DataDirectory"] is { Length: > 0 } configured)
        {
            return configured;
        }
        return Fabric.Hosting.DataDirectory.Default();
    }

    /// <summary>Reads a private file, or creates it with owner-only (0600) permissions from <paramref name="create"/>.</summary>
    public static string ReadOrCreatePrivateFile(string path, Func<string> create)
    {
        if (File.Exists(path))
        {
            return File.ReadAllText(path).Trim();
        }
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var value = create();
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }
        try
        {
            using var stream = new FileStream(path, options);
            using var writer = new StreamWriter(stream);
            writer.Write(value);
        }
        catch (IOException) when (File.Exists(path))
        {
            // Another silo on this machine created it first: use theirs.
            return File.ReadAllText(path).Trim();
        }
        return value;
    }
}
