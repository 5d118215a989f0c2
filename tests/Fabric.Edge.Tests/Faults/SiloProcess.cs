using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;

namespace Fabric.Edge.Tests.Faults;

/// <summary>
/// A silo host as a real child process: <c>dotnet Fabric.Silo.dll</c> from the test's output folder
/// (the project reference copies it there), in redis mode, on free silo, gateway and API ports,
/// so a test can kill it by PID the way a crash would (SIGKILL, no shutdown code runs).
/// </summary>
internal sealed class SiloProcess : IAsyncDisposable
{
    private static readonly TimeSpan StartDeadline = TimeSpan.FromSeconds(30);
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private SiloProcess(Process process, int siloPort, Uri apiUrl, string adminToken)
    {
        _process = process;
        SiloPort = siloPort;
        Admin = new HttpClient { BaseAddress = apiUrl, Timeout = TimeSpan.FromSeconds(10) };
        Admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", adminToken);
    }

    public int SiloPort { get; }

    public int ProcessId => _process.Id;

    public HttpClient Admin { get; }

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

    public static async Task<SiloProcess> StartAsync(IEnumerable<string> clusterArguments, string dataDirectory, string secretKey, string adminToken)
    {
        var siloPort = FreePort.Next();
        var apiUrl = new Uri($"http://127.0.0.1:{FreePort.Next()}");
        Directory.CreateDirectory(dataDirectory);
        var start = new ProcessStartInfo("dotnet")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            // Not the test's folder: its appsettings.json belongs to whichever host was copied last.
            WorkingDirectory = dataDirectory,
        };
        foreach (var argument in (string[])[
            Path.Combine(AppContext.BaseDirectory, "Fabric.Silo.dll"),
            .. clusterArguments,
            $"--Fabric:Cluster:SiloPort={siloPort}",
            $"--Fabric:Cluster:GatewayPort={FreePort.Next()}",
            $"--Fabric:DataDirectory={dataDirectory}",
            $"--Fabric:Secrets:Local:Key={secretKey}",
            "--Fabric:TrustDomain=" + RedisFabric.TrustDomain,
            $"--urls={apiUrl}",
            $"--FABRIC_ADMIN_TOKEN={adminToken}",
            "--Logging:LogLevel:Default=Warning",
        ])
        {
            start.ArgumentList.Add(argument);
        }
        start.Environment["DOTNET_ENVIRONMENT"] = "Production";
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";

        var silo = new SiloProcess(Process.Start(start)!, siloPort, apiUrl, adminToken);
        silo._process.OutputDataReceived += (_, e) => silo.Append(e.Data);
        silo._process.ErrorDataReceived += (_, e) => silo.Append(e.Data);
        silo._process.BeginOutputReadLine();
        silo._process.BeginErrorReadLine();

        // An external process has no readiness signal to await: poll its liveness endpoint, bounded.
        var waited = Stopwatch.StartNew();
        while (true)
        {
            if (silo._process.HasExited)
            {
                var output = silo.Output;
                await silo.DisposeAsync();
                throw new InvalidOperationException($"silo exited with {silo._process.ExitCode} before it answered:\n{output}");
            }
            try
            {
                using var response = await silo.Admin.GetAsync("/v1/bundle");
                if (response.IsSuccessStatusCode)
                {
                    return silo;
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
            }
            if (waited.Elapsed > StartDeadline)
            {
                var output = silo.Output;
                await silo.DisposeAsync();
                throw new TimeoutException($"silo did not answer within {StartDeadline.TotalSeconds} s:\n{output}");
            }
            await Task.Delay(100);
        }
    }

    /// <summary>SIGKILL: the process gets no chance to leave the cluster.</summary>
    public void Kill()
    {
        _process.Kill(entireProcessTree: true);
        _process.WaitForExit();
    }

    public async ValueTask DisposeAsync()
    {
        Admin.Dispose();
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
