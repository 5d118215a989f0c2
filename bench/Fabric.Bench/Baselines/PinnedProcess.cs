using System.Diagnostics;

namespace Fabric.Bench.Baselines;

/// <summary>
/// A proxy under test in a process of its own, started on one core with <c>taskset -c</c> (util-linux), its output kept
/// in a log file beside the run's data. Killed (with its children) on dispose.
/// </summary>
internal sealed class PinnedProcess(Process process, string log) : IDisposable
{
    public int Pid => process.Id;
    public string Log => log;
    public bool HasExited => process.HasExited;

    /// <summary>Pins this process, every thread it has now and so every thread they start, to <paramref name="core"/>.</summary>
    public static async Task<bool> PinSelfAsync(int core) =>
        await RunAsync("taskset", ["-a", "-p", "-c", core.ToString(System.Globalization.CultureInfo.InvariantCulture), Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture)]) == 0;

    public static PinnedProcess Start(int core, string command, IReadOnlyList<string> arguments, string log)
    {
        var start = new ProcessStartInfo("taskset", ["-c", core.ToString(System.Globalization.CultureInfo.InvariantCulture), command, .. arguments])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        var process = Process.Start(start) ?? throw new InvalidOperationException($"taskset did not start {command}");
        var writer = new StreamWriter(log, append: false) { AutoFlush = true };
        var gate = new Lock();
        void Write(string? line)
        {
            if (line is not null)
            {
                lock (gate)
                {
                    writer.WriteLine(line);
                }
            }
        }
        process.OutputDataReceived += (_, e) => Write(e.Data);
        process.ErrorDataReceived += (_, e) => Write(e.Data);
        process.Exited += (_, _) => writer.Dispose();
        process.EnableRaisingEvents = true;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return new PinnedProcess(process, log);
    }

    /// <summary>The cores a process may run on, as <c>taskset -p</c> reports them (a check that the pin held).</summary>
    public static async Task<string> AffinityOf(int pid)
    {
        var start = new ProcessStartInfo("taskset", ["-c", "-p", pid.ToString(System.Globalization.CultureInfo.InvariantCulture)])
        {
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        using var process = Process.Start(start)!;
        var text = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        return text.Trim();
    }

    private static async Task<int> RunAsync(string command, string[] arguments)
    {
        try
        {
            using var process = Process.Start(new ProcessStartInfo(command, arguments) { UseShellExecute = false, RedirectStandardOutput = true })!;
            await process.StandardOutput.ReadToEndAsync();
            await process.WaitForExitAsync();
            return process.ExitCode;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return -1; // no taskset
        }
    }

    public void Dispose() => Stop(process);

    /// <summary>Kills a child the run started (and its children: nginx's workers) and waits for it; disposes it.</summary>
    public static void Stop(Process child)
    {
        try
        {
            if (!child.HasExited)
            {
                child.Kill(entireProcessTree: true);
                child.WaitForExit(5000);
            }
        }
        catch (InvalidOperationException)
        {
            // already gone
        }
        child.Dispose();
    }
}
