using System.ComponentModel;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Fabric.Testing;

/// <summary>
/// A real <c>redis-server</c> (Debian package <c>redis-server</c>) on a free loopback port, its data in a
/// temporary directory: append-only file on (<c>appendfsync everysec</c>), RDB snapshots off, so
/// <see cref="StopAsync"/> + <see cref="StartAgainAsync"/> restarts it with every acknowledged write.
/// A missing binary fails the test with the package to install; it never skips.
/// </summary>
public sealed class RedisServer : IAsyncDisposable
{
    private const string Package = "redis-server";
    private static readonly TimeSpan StartDeadline = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan StopDeadline = TimeSpan.FromSeconds(15);

    private readonly string[] _extraArguments;
    private readonly StringBuilder _output = new();
    private Process? _process;

    private RedisServer(int port, string directory, string[] extraArguments)
    {
        Port = port;
        DataDirectory = directory;
        _extraArguments = extraArguments;
    }

    public int Port { get; }

    public string DataDirectory { get; }

    /// <summary>A StackExchange.Redis connection string (<c>ConnectionStrings:redis</c>).</summary>
    public string ConnectionString => $"127.0.0.1:{Port}";

    /// <summary>The server's process id while it runs (for kill tests).</summary>
    public int ProcessId => _process?.Id ?? throw new InvalidOperationException("redis-server is not running");

    /// <summary>What the server printed (its log goes to stdout), for failure messages.</summary>
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

    /// <summary>Starts a fresh server; <paramref name="extraArguments"/> are appended (e.g. <c>--appendfsync always</c>).</summary>
    public static async Task<RedisServer> StartAsync(params string[] extraArguments)
    {
        var directory = Path.Combine(Path.GetTempPath(), "fabric-redis-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        // The free port can be taken between probing and binding: try a few.
        for (var attempt = 1; ; attempt++)
        {
            var server = new RedisServer(FreePort.Next(), directory, extraArguments);
            try
            {
                await server.LaunchAsync();
                return server;
            }
            catch (IOException) when (attempt < 3)
            {
                await server.KillAsync();
            }
            catch
            {
                await server.DisposeAsync();
                throw;
            }
        }
    }

    /// <summary>Starts the server again on the same port with the same data directory (after <see cref="StopAsync"/> or <see cref="KillAsync"/>).</summary>
    public Task StartAgainAsync()
    {
        if (_process is not null)
        {
            throw new InvalidOperationException("redis-server is still running");
        }
        return LaunchAsync();
    }

    /// <summary>Graceful stop: SIGTERM (Redis fsyncs the append-only file and exits), then waits for the exit.</summary>
    public async Task StopAsync()
    {
        if (_process is not { } process)
        {
            return;
        }
        using (var kill = Process.Start(new ProcessStartInfo("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]) { UseShellExecute = false })!)
        {
            await kill.WaitForExitAsync();
        }
        using var timeout = new CancellationTokenSource(StopDeadline);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"redis-server (pid {process.Id}) did not exit within {StopDeadline.TotalSeconds} s of SIGTERM:\n{Output}");
        }
        process.Dispose();
        _process = null;
    }

    /// <summary>Abrupt stop: SIGKILL, as a crash would.</summary>
    public async Task KillAsync()
    {
        if (_process is not { } process)
        {
            return;
        }
        try
        {
            process.Kill();
            await process.WaitForExitAsync();
        }
        catch (InvalidOperationException)
        {
            // Already exited.
        }
        process.Dispose();
        _process = null;
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        try
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private async Task LaunchAsync()
    {
        var start = new ProcessStartInfo(Package)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = DataDirectory,
        };
        foreach (var argument in (string[])[
            "--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--bind", "127.0.0.1",
            "--save", "",
            "--appendonly", "yes",
            "--dir", DataDirectory,
            "--daemonize", "no",
            "--logfile", "",
            .. _extraArguments])
        {
            start.ArgumentList.Add(argument);
        }

        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (Win32Exception ex)
        {
            throw new InvalidOperationException(
                $"redis-server is not installed (or not on PATH): install the Debian package '{Package}' " +
                $"(apt-get update && apt-get install -y {Package}). Redis-backed tests need a real server.", ex);
        }
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;

        // Polling is deliberate: redis-server is an external process with no readiness signal we can
        // await, so we PING its port until it answers +PONG, bounded by a deadline, and fail early
        // (with its log) if it exits instead.
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            if (process.HasExited)
            {
                _process = null;
                var output = Output;
                process.Dispose();
                throw new IOException($"redis-server exited with code {process.ExitCode} before it answered PING on port {Port}:\n{output}");
            }
            if (await PingAsync(Port))
            {
                return;
            }
            if (deadline.Elapsed > StartDeadline)
            {
                throw new TimeoutException($"redis-server did not answer PING on port {Port} within {StartDeadline.TotalSeconds} s:\n{Output}");
            }
            await Task.Delay(20);
        }
    }

    private static async Task<bool> PingAsync(int port)
    {
        try
        {
            using var client = new TcpClient();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(1));
            await client.ConnectAsync(IPAddress.Loopback, port, timeout.Token);
            var stream = client.GetStream();
            await stream.WriteAsync("PING\r\n"u8.ToArray(), timeout.Token);
            var buffer = new byte[64];
            var read = await stream.ReadAsync(buffer, timeout.Token);
            // While it loads the append-only file Redis answers -LOADING: not ready yet.
            return Encoding.ASCII.GetString(buffer, 0, read).StartsWith("+PONG", StringComparison.Ordinal);
        }
        catch (Exception ex) when (ex is SocketException or IOException or OperationCanceledException)
        {
            return false;
        }
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
