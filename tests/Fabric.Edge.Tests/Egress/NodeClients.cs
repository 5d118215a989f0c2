using System.Diagnostics;

namespace Fabric.Edge.Tests.Egress;

/// <summary>
/// Node's undici as a third-party egress client (<c>tests/node-clients</c>, installed from the npm registry with its
/// lock file on first use), configured only through the environment a launched server gets.
/// </summary>
public static class NodeClients
{
    private static readonly SemaphoreSlim Install = new(1, 1);

    private static string Directory { get; } = FindDirectory();

    private static string FindDirectory()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            var candidate = Path.Combine(directory.FullName, "tests", "node-clients");
            if (File.Exists(Path.Combine(candidate, "package.json")))
            {
                return candidate;
            }
        }
        throw new DirectoryNotFoundException("tests/node-clients is not above the test output");
    }

    public static async Task<(int Exit, string Output, string Error)> UndiciGetAsync(Uri proxy, string caFile, string url)
    {
        await EnsureInstalledAsync();
        var start = new ProcessStartInfo("node") { WorkingDirectory = Directory, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add("proxy-get.mjs");
        start.ArgumentList.Add(url);
        start.Environment.Clear();
        start.Environment["PATH"] = Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin";
        start.Environment["HTTPS_PROXY"] = proxy.ToString();
        start.Environment["NODE_EXTRA_CA_CERTS"] = caFile;
        return await RunAsync(start);
    }

    private static async Task EnsureInstalledAsync()
    {
        await Install.WaitAsync();
        try
        {
            if (System.IO.Directory.Exists(Path.Combine(Directory, "node_modules", "undici")))
            {
                return;
            }
            var npm = new ProcessStartInfo("npm") { WorkingDirectory = Directory, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var argument in (string[])["ci", "--no-audit", "--no-fund"])
            {
                npm.ArgumentList.Add(argument);
            }
            var (exit, output, error) = await RunAsync(npm);
            if (exit != 0)
            {
                throw new InvalidOperationException($"npm ci failed ({exit}): {output}{error}");
            }
        }
        finally
        {
            Install.Release();
        }
    }

    private static async Task<(int, string, string)> RunAsync(ProcessStartInfo start)
    {
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await output, await error);
    }
}
