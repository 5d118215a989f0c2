using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Fabric.Bench.Report;

/// <summary>The machine a run measured: cores, the SDK (<c>dotnet --version</c>, bounded at 10 s), the OS.</summary>
internal sealed record MachineInfo(int Cores, string Sdk, string Os)
{
    public static async Task<MachineInfo> DetectAsync()
    {
        return new MachineInfo(Environment.ProcessorCount, await SdkAsync(), RuntimeInformation.OSDescription);
    }

    /// <summary>The 1-minute load average (Linux /proc/loadavg), to flag runs that shared the CPU with others.</summary>
    public static string LoadAverage()
    {
        try
        {
            return File.ReadAllText("/proc/loadavg").Split(' ')[0];
        }
        catch (IOException)
        {
            return "n/a";
        }
    }

    private static async Task<string> SdkAsync()
    {
        var runtime = RuntimeInformation.FrameworkDescription;
        try
        {
            using var process = Process.Start(new ProcessStartInfo("dotnet", "--version") { RedirectStandardOutput = true, UseShellExecute = false });
            if (process is null)
            {
                return runtime;
            }
            using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            var version = (await process.StandardOutput.ReadToEndAsync(limit.Token)).Trim();
            await process.WaitForExitAsync(limit.Token);
            return version.Length > 0 ? $"{version} ({runtime})" : runtime;
        }
        catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or OperationCanceledException)
        {
            return runtime;
        }
    }
}
