namespace Fabric.Hosting;

/// <summary>Where Fabric processes keep local files by default: <c>$XDG_DATA_HOME/fabric</c>, else <c>~/.local/share/fabric</c>.</summary>
public static class DataDirectory
{
    public static string Default()
    {
        var xdg = Environment.GetEnvironmentVariable("XDG_DATA_HOME");
        var root = string.IsNullOrEmpty(xdg)
            ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "share")
            : xdg;
        return Path.Combine(root, "fabric");
    }
}
