using System.Net.Http.Headers;

namespace Fabric.Edge.Tests.Faults;

/// <summary>
/// A silo host as a real child process (<see cref="HostProcess"/>), in redis mode, on free silo, gateway
/// and API ports, so a test can kill it by PID the way a crash would (SIGKILL, it never leaves the cluster).
/// </summary>
internal sealed class SiloProcess : IAsyncDisposable
{
    private static readonly TimeSpan StartDeadline = TimeSpan.FromSeconds(30);
    private readonly HostProcess _host;

    private SiloProcess(HostProcess host, int siloPort, HttpClient admin)
    {
        _host = host;
        SiloPort = siloPort;
        Admin = admin;
    }

    public int SiloPort { get; }

    public int ProcessId => _host.ProcessId;

    public HttpClient Admin { get; }

    public string Output => _host.Output;

    /// <summary>
    /// Starts the silo and returns once its management API serves the trust bundle. A port found free can be taken by
    /// another process before the silo binds it: such a start is tried again on fresh ports (twice at most).
    /// </summary>
    public static async Task<SiloProcess> StartAsync(IEnumerable<string> clusterArguments, string dataDirectory, string secretKey, string adminToken)
    {
        var arguments = clusterArguments.ToList();
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await StartOnceAsync(arguments, dataDirectory, secretKey, adminToken);
            }
            catch (InvalidOperationException ex) when (attempt < 3 && ex.Message.Contains("address already in use", StringComparison.OrdinalIgnoreCase))
            {
                // lost the race for a port: pick others
            }
        }
    }

    private static async Task<SiloProcess> StartOnceAsync(IEnumerable<string> clusterArguments, string dataDirectory, string secretKey, string adminToken)
    {
        var siloPort = FreePort.Next();
        var apiUrl = new Uri($"http://127.0.0.1:{FreePort.Next()}");
        var admin = new HttpClient { BaseAddress = apiUrl, Timeout = TimeSpan.FromSeconds(10) };
        admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", adminToken);
        try
        {
            var host = await HostProcess.StartAsync("Fabric.Silo.dll",
                [
                    .. clusterArguments,
                    $"--Fabric:Cluster:SiloPort={siloPort}",
                    $"--Fabric:Cluster:GatewayPort={FreePort.Next()}",
                    $"--Fabric:DataDirectory={dataDirectory}",
                    $"--Fabric:Secrets:Local:Key={secretKey}",
                    "--Fabric:TrustDomain=" + RedisFabric.TrustDomain,
                    $"--urls={apiUrl}",
                    EdgeJoinArguments.AnyBootstrapPort,
                    $"--FABRIC_ADMIN_TOKEN={adminToken}",
                    "--Logging:LogLevel:Default=Warning",
                ],
                dataDirectory,
                async () =>
                {
                    using var response = await admin.GetAsync("/v1/bundle");
                    return response.IsSuccessStatusCode;
                },
                StartDeadline);
            return new SiloProcess(host, siloPort, admin);
        }
        catch
        {
            admin.Dispose();
            throw;
        }
    }

    /// <summary>SIGKILL: the process gets no chance to leave the cluster.</summary>
    public void Kill() => _host.Kill();

    public async ValueTask DisposeAsync()
    {
        Admin.Dispose();
        await _host.DisposeAsync();
    }
}
