namespace Fabric.Bench.Fabric;

/// <summary>The demo stdio server the launch rows have the edge start, and the dotnet host that runs it.</summary>
internal static class StdioServer
{
    public static string Dotnet { get; } =
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(directory => Path.Combine(directory, "dotnet")).FirstOrDefault(File.Exists) ?? "dotnet";

    /// <summary><c>AppHost/Fabric.Demo.StdioServer/bin/&lt;configuration&gt;/&lt;tfm&gt;/</c> of the bench's own configuration, or null.</summary>
    public static string? Dll { get; } = Find();

    private static string? Find()
    {
        var output = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd('/'));
        var (tfm, configuration) = (output.Name, output.Parent!.Name);
        for (var directory = output; directory is not null; directory = directory.Parent)
        {
            var candidate = Path.Combine(directory.FullName, "AppHost", "Fabric.Demo.StdioServer", "bin", configuration, tfm, "Fabric.Demo.StdioServer.dll");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }
        return null;
    }
}
