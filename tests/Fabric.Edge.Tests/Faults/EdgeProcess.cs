using System.Diagnostics;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Fabric.Contracts.Identity;
using Fabric.Edge.Tests.Fixtures;

namespace Fabric.Edge.Tests.Faults;

/// <summary>
/// An edge host as a real child process: <c>dotnet Fabric.Edge.dll</c> from the test's output folder
/// (the project reference copies it there), in redis mode, serving HTTPS on a given loopback port with
/// a given audit spool directory, so a test can kill it by PID the way a crash would (SIGKILL, no
/// shutdown code runs, nothing in memory is flushed).
/// </summary>
internal sealed class EdgeProcess : IAsyncDisposable
{
    private static readonly TimeSpan StartDeadline = TimeSpan.FromSeconds(45);
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private EdgeProcess(Process process, string name, Uri address)
    {
        _process = process;
        Name = name;
        Address = address;
    }

    /// <summary>The edge's name (<c>Fabric:Edge:Name</c>): its SVID and the <c>edge</c> field of its audit records.</summary>
    public string Name { get; }

    public Uri Address { get; }

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

    public Uri McpUrl(string server) => new(Address, "/mcp/" + server);

    /// <summary>
    /// Starts the edge and returns once it answers <c>/alive</c> over mTLS with a certificate that chains
    /// to <paramref name="bundle"/> (Kestrel listens only after the edge holds its SVID from the cluster).
    /// <paramref name="probeCertificate"/> is any SVID the edge admits: it requires one on every connection.
    /// </summary>
    public static async Task<EdgeProcess> StartAsync(
        IEnumerable<string> clusterArguments, string name, int port, string spoolDirectory, string workingDirectory,
        X509Certificate2 probeCertificate, X509Certificate2Collection bundle)
    {
        var address = new Uri($"https://127.0.0.1:{port}");
        Directory.CreateDirectory(workingDirectory);
        var start = new ProcessStartInfo("dotnet")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            // Not the test's folder: its appsettings.json belongs to whichever host was copied last.
            WorkingDirectory = workingDirectory,
        };
        foreach (var argument in (string[])[
            Path.Combine(AppContext.BaseDirectory, "Fabric.Edge.dll"),
            .. clusterArguments,
            $"--Fabric:Edge:Name={name}",
            $"--Fabric:Edge:AuditSpoolDirectory={spoolDirectory}",
            "--Fabric:TrustDomain=" + RedisFabric.TrustDomain,
            $"--urls={address}",
            "--Logging:LogLevel:Default=Warning",
            // The audit shipper's "records left by an earlier edge process" line, for failure messages.
            "--Logging:LogLevel:Fabric.Edge.Audit=Information",
        ])
        {
            start.ArgumentList.Add(argument);
        }
        start.Environment["DOTNET_ENVIRONMENT"] = "Production";
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";

        var edge = new EdgeProcess(Process.Start(start)!, name, address);
        edge._process.OutputDataReceived += (_, e) => edge.Append(e.Data);
        edge._process.ErrorDataReceived += (_, e) => edge.Append(e.Data);
        edge._process.BeginOutputReadLine();
        edge._process.BeginErrorReadLine();

        using var probe = McpClients.CreateHttpClient(probeCertificate, (_, certificate, _, _) => CustomRootTrust.Chains(certificate, bundle));
        probe.Timeout = TimeSpan.FromSeconds(5);
        // An external process has no readiness signal to await: poll its liveness endpoint, bounded.
        var waited = Stopwatch.StartNew();
        while (true)
        {
            if (edge._process.HasExited)
            {
                var output = edge.Output;
                var code = edge._process.ExitCode;
                await edge.DisposeAsync();
                throw new InvalidOperationException($"edge {name} exited with {code} before it answered:\n{output}");
            }
            try
            {
                using var response = await probe.GetAsync(new Uri(address, "/alive"));
                if (response.IsSuccessStatusCode)
                {
                    return edge;
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
            }
            if (waited.Elapsed > StartDeadline)
            {
                var output = edge.Output;
                await edge.DisposeAsync();
                throw new TimeoutException($"edge {name} did not answer within {StartDeadline.TotalSeconds} s:\n{output}");
            }
            await Task.Delay(100);
        }
    }

    /// <summary>SIGKILL: the edge gets no chance to flush, ship or release anything; the kernel drops its sockets and its spool lock.</summary>
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
