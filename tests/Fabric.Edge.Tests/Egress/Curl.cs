using System.Diagnostics;
using System.Globalization;

namespace Fabric.Edge.Tests.Egress;

/// <summary>curl as a third-party HTTP client (the one an MCP server's runtime would be): exit code, status codes, headers and body.</summary>
internal static class Curl
{
    public sealed record Result(int ExitCode, int Status, int ConnectStatus, string Headers, string Body, string Error);

    public static async Task<Result> RunAsync(string directory, IEnumerable<string> arguments)
    {
        var headersFile = Path.Combine(directory, "headers-" + Guid.NewGuid().ToString("N"));
        var start = new ProcessStartInfo("curl") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in new[] { "-sS", "--max-time", "20", "-D", headersFile, "-o", "-", "-w", "\n%{http_code} %{http_connect}" }.Concat(arguments))
        {
            start.ArgumentList.Add(argument);
        }
        using var curl = Process.Start(start)!;
        var output = curl.StandardOutput.ReadToEndAsync();
        var error = curl.StandardError.ReadToEndAsync();
        await curl.WaitForExitAsync();
        var text = await output;
        var cut = text.LastIndexOf('\n');
        var codes = text[(cut + 1)..].Split(' ');
        return new Result(curl.ExitCode, int.Parse(codes[0], CultureInfo.InvariantCulture), int.Parse(codes[1], CultureInfo.InvariantCulture),
            File.Exists(headersFile) ? await File.ReadAllTextAsync(headersFile) : "", text[..Math.Max(cut, 0)], await error);
    }
}
