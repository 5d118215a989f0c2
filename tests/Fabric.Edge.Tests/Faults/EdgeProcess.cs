using System.Security.Cryptography.X509Certificates;
using Fabric.Contracts.Identity;
using Fabric.Edge.Tests.Fixtures;

namespace Fabric.Edge.Tests.Faults;

/// <summary>
/// An edge host as a real child process (<see cref="HostProcess"/>), in redis mode, serving HTTPS on a given loopback port with
/// a given audit spool directory, so a test can kill it by PID the way a crash would (SIGKILL, no
/// shutdown code runs, nothing in memory is flushed).
/// </summary>
internal sealed class EdgeProcess : IAsyncDisposable
{
    private static readonly TimeSpan StartDeadline = TimeSpan.FromSeconds(45);
    private readonly HostProcess _host;

    private EdgeProcess(HostProcess host, string name, Uri address)
    {
        _host = host;
        Name = name;
        Address = address;
    }

    /// <summary>The edge's name (<c>Fabric:Edge:Name</c>): its SVID and the <c>edge</c> field of its audit records.</summary>
    public string Name { get; }

    public Uri Address { get; }

    public int ProcessId => _host.ProcessId;

    public string Output => _host.Output;

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
        using var probe = McpClients.CreateHttpClient(probeCertificate, (_, certificate, _, _) => CustomRootTrust.Chains(certificate, bundle));
        probe.Timeout = TimeSpan.FromSeconds(5);
        var host = await HostProcess.StartAsync("Fabric.Edge.dll",
            [
                .. clusterArguments,
                $"--Fabric:Edge:Name={name}",
                $"--Fabric:Edge:AuditSpoolDirectory={spoolDirectory}",
                "--Fabric:TrustDomain=" + RedisFabric.TrustDomain,
                $"--urls={address}",
                "--Logging:LogLevel:Default=Warning",
                // The audit shipper's "records left by an earlier edge process" line, for failure messages.
                "--Logging:LogLevel:Fabric.Edge.Audit=Information",
            ],
            workingDirectory,
            async () =>
            {
                using var response = await probe.GetAsync(new Uri(address, "/alive"));
                return response.IsSuccessStatusCode;
            },
            StartDeadline);
        return new EdgeProcess(host, name, address);
    }

    /// <summary>SIGKILL: the edge gets no chance to flush, ship or release anything; the kernel drops its sockets and its spool lock.</summary>
    public void Kill() => _host.Kill();

    public ValueTask DisposeAsync() => _host.DisposeAsync();
}
