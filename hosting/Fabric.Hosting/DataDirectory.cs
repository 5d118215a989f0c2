using Microsoft.Extensions.Configuration;

namespace Fabric.Hosting;

/// <summary>Where Fabric processes keep local files by default: <c>$XDG_DATA_HOME/fabric</c>, else <c>~/.local/share/fabric</c>.</summary>
public static class DataDirectory
{
    /// <summary><c>Fabric:DataDirectory</c>, else <see cref="Default"/>: the same directory for a silo and an edge on one machine.</summary>
    public static string Resolve(IConfiguration configuration) =>
        configuration["Fabric:DataDirectory"] is { Length: > 0 } configured ? configured : Default();

    public static string Default()
    {
        var xdg = Environment.GetEnvironmentVariable("XDG_DATA_HOME");
        var root = string.IsNullOrEmpty(xdg)
            ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "share")
            : xdg;
        return Path.Combine(root, "fabric");
    }
}
