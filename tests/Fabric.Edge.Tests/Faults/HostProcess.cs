using System.Diagnostics;
using System.Text;

namespace Fabric.Edge.Tests.Faults;

/// <summary>
/// A fabric host (<c>dotnet Fabric.Silo.dll</c> or <c>Fabric.Edge.dll</c> from the test's output folder,
/// which the project references copy there) as a real child process: its output captured for failure
/// messages, started until a readiness probe answers, killed by PID the way a crash would (SIGKILL).
/// </summary>
internal sealed class HostProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private HostProcess(Process process) => _process = process;

    public int ProcessId => _process.Id;

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>
    /// Runs <paramref name="assembly"/> with <paramref name="arguments"/> in <paramref name="workingDirectory"/>
    /// (not the test's folder: its appsettings.json belongs to whichever host was copied last) and returns
    /// once <paramref name="ready"/> answers true. An external process has no readiness signal to await,
    /// so the probe is polled, bounded by <paramref name="deadline"/>; a process that exits first fails at once.
    /// </summary>
    public static async Task<HostProcess> StartAsync(
        string assembly, IEnumerable<string> arguments, string workingDirectory, Func<Task<bool>> ready, TimeSpan deadline)
    {
        Directory.CreateDirectory(workingDirectory);
        var start = new ProcessStartInfo("dotnet")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = workingDirectory,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, assembly));
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        start.Environment["DOTNET_ENVIRONMENT"] = "Production";
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";

        var host = new HostProcess(Process.Start(start)!);
        host._process.OutputDataReceived += (_, e) => host.Append(e.Data);
        host._process.ErrorDataReceived += (_, e) => host.Append(e.Data);
        host._process.BeginOutputReadLine();
        host._process.BeginErrorReadLine();

        var waited = Stopwatch.StartNew();
        while (true)
        {
            if (host._process.HasExited)
            {
                var code = host._process.ExitCode;
                await host.DisposeAsync();
                throw new InvalidOperationException($"{assembly} exited with {code} before it was ready:\n{host.Output}");
            }
            try
            {
                if (await ready())
                {
                    return host;
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
            }
            if (waited.Elapsed > deadline)
            {
                await host.DisposeAsync();
                throw new TimeoutException($"{assembly} was not ready within {deadline.TotalSeconds} s:\n{host.Output}");
            }
            await Task.Delay(100);
        }
    }

    /// <summary>SIGKILL: no shutdown code runs, nothing in memory is flushed, the kernel drops its sockets and locks.</summary>
    public void Kill()
    {
        _process.Kill(entireProcessTree: true);
        _process.WaitForExit();
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (_output)
        {
            _output.AppendLine(line);
        }
    }
}
