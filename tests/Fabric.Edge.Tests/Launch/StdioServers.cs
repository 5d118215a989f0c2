namespace Fabric.Edge.Tests.Launch;

/// <summary>Where the launch tests' (and the bench's) stdio servers are: the demo server (an SDK stdio server) and the python that runs hostile scripts.</summary>
public static class StdioServers
{
    /// <summary>The dotnet host on this machine's PATH, resolved as the edge resolves a bare command.</summary>
    public static string Dotnet { get; } = Resolve("dotnet");

    public static string Python { get; } = File.Exists("/usr/bin/python3") ? "/usr/bin/python3" : Resolve("python3");

    /// <summary>
    /// The demo stdio server, in its own output directory of the tests' configuration (built first, by project
    /// reference): <c>AppHost/Fabric.Demo.StdioServer/bin/&lt;configuration&gt;/net10.0/</c>.
    /// </summary>
    public static string DemoServerDll => TryFindDemoServer() ?? throw new FileNotFoundException("the demo stdio server is not built next to the tests");

    /// <summary>The demo stdio server's dll for the caller's configuration, or null when it is not built.</summary>
    public static string? TryFindDemoServer()
    {
        // .../tests/Fabric.Edge.Tests/bin/<configuration>/<tfm>/
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

    // The edge's own PATH walk: a test launches exactly what the edge would resolve.
    private static string Resolve(string command) => Fabric.Edge.Launch.LaunchedServers.ResolveCommand(command) ?? "/nonexistent/" + command;
}
