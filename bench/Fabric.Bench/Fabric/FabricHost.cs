using StdioServers = global::Fabric.Edge.Tests.Launch.StdioServers;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Fabric.Contracts.Identity;
using Fabric.Edge.Caching;
using Fabric.Edge.Hosting;
using Fabric.Silo.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Logging.Console;

namespace Fabric.Bench.Fabric;

/// <summary>
/// The real silo host and two real edges in this process, as tests/Fabric.Edge.Tests' FabricFixture
/// starts them: localhost clustering on free ports, memory storage, management API on loopback http,
/// edges on loopback https (mTLS, each its own SVID from the cluster's CA). The scenarios load the
/// first edge; the second serves only the two-edge revocation probe.
/// </summary>
internal sealed class FabricHost : IAsyncDisposable
{
    public const string TrustDomain = "fabric.local";
    private const string AdminToken = "bench-admin-token-0123456789abcdef";

    private readonly string _dataDirectory = Path.Combine(Path.GetTempPath(), "fabric-bench-" + Guid.NewGuid().ToString("N"));
    private WebApplication? _silo;
    private readonly List<WebApplication> _edges = [];
    private string[] _shared = [];

    public HttpClient Admin { get; private set; } = null!;
    public Uri EdgeUrl => EdgeUrls[0];
    public IReadOnlyList<Uri> EdgeUrls { get; private set; } = [];
    public BenchPki Pki { get; private set; } = null!;
    public IServiceProvider EdgeServices => _edges[0].Services;
    public EdgeCache EdgeCache => EdgeServices.GetRequiredService<EdgeCache>();

    /// <param name="extraArgs">Appended to both hosts' arguments (configuration what-ifs; the product code is untouched).</param>
    public static async Task<FabricHost> StartAsync(IReadOnlyList<string> extraArgs, CancellationToken cancellationToken)
    {
        var host = new FabricHost();
        var siloPort = FreePort.Next();
        var gatewayPort = FreePort.Next();
        string[] shared =
        [
            $"--Fabric:Cluster:SiloPort={siloPort}",
            $"--Fabric:Cluster:GatewayPort={gatewayPort}",
            $"--Fabric:Cluster:ClusterId=bench-{siloPort}",
            $"--Fabric:DataDirectory={host._dataDirectory}",
            .. extraArgs,
        ];
        host._silo = FabricSiloApp.Build([.. shared, "--urls=http://127.0.0.1:0", "--Fabric:Bootstrap:Url=https://127.0.0.1:0", $"--FABRIC_ADMIN_TOKEN={AdminToken}"], Quiet);
        await host._silo.StartAsync(cancellationToken);
        host._shared = shared;
        foreach (var name in (string[])["bench", "bench-2"])
        {
            var edge = FabricEdgeApp.Build([.. host.EdgeArguments(name, 0)], Quiet);
            host._edges.Add(edge);
            await edge.StartAsync(cancellationToken);
        }
        host.EdgeUrls = [.. host._edges.Select(e => new Uri(Address(e).Replace("127.0.0.1", "localhost", StringComparison.Ordinal)))];

        host.Admin = new HttpClient { BaseAddress = new Uri(Address(host._silo)), Timeout = TimeSpan.FromSeconds(30) };
        host.Admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AdminToken);
        var bundlePem = await host.Admin.GetStringAsync("/v1/bundle", cancellationToken);
        host.Pki = new BenchPki(SvidPem.LoadCertificates(bundlePem), bundlePem);
        return host;
    }

    /// <summary>
    /// How an edge of this cluster is started (the same for one in this process and one in a process of its own): the
    /// cluster's ports and data directory (so it joins through the local join file), its name, a listener, its spool.
    /// </summary>
    public IReadOnlyList<string> EdgeArguments(string name, int port) =>
    [
        .. _shared, $"--urls=https://127.0.0.1:{port}", $"--Fabric:Edge:Name={name}", "--Fabric:Edge:Egress:ProxyUrls=http://127.0.0.1:0",
        $"--Fabric:Edge:Launch:AllowedCommands={StdioServers.Dotnet}",
        $"--Fabric:Edge:AuditSpoolDirectory={Path.Combine(_dataDirectory, name, "audit")}",
    ];

    /// <summary>Where a child process of the run may keep its files (removed with the run).</summary>
    public string DataDirectory => _dataDirectory;

    /// <summary>Warnings and errors only, and on stderr: stdout is for the report.</summary>
    private static void Quiet(WebApplicationBuilder builder)
    {
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
        builder.Services.Configure<ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
    }

    private static string Address(WebApplication app) =>
        app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();

    /// <summary>Mints an SVID through the management API (POST /v1/svids), as an agent without SPIRE would.</summary>
    public async Task<Svid> MintAsync(string path, CancellationToken cancellationToken, string[]? dnsNames = null, string[]? ipAddresses = null)
    {
        var spiffeId = $"spiffe://{TrustDomain}/{path}";
        using var response = await Admin.PostAsJsonAsync("/v1/svids",
            new { spiffeId, ttlSeconds = 3600, dnsNames = dnsNames ?? [], ipAddresses = ipAddresses ?? [] }, cancellationToken);
        await EnsureAsync(response, "POST /v1/svids", cancellationToken);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
        var certificatePem = json.RootElement.GetProperty("certificatePem").GetString()!;
        var keyPem = json.RootElement.GetProperty("privateKeyPem").GetString()!;
        return new Svid(spiffeId, SvidPem.LoadCertificate(certificatePem, keyPem), certificatePem, keyPem);
    }

    public async Task PutAsync(string path, object body, CancellationToken cancellationToken)
    {
        using var response = await Admin.PutAsJsonAsync(path, body, cancellationToken);
        await EnsureAsync(response, "PUT " + path, cancellationToken);
    }

    public async Task DeleteAsync(string path, CancellationToken cancellationToken)
    {
        using var response = await Admin.DeleteAsync(path, cancellationToken);
        await EnsureAsync(response, "DELETE " + path, cancellationToken);
    }

    private static async Task EnsureAsync(HttpResponseMessage response, string what, CancellationToken cancellationToken)
    {
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"{what} → {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(cancellationToken)}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        Admin?.Dispose();
        foreach (var app in (WebApplication?[])[.. _edges, _silo])
        {
            if (app is not null)
            {
                using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                await app.StopAsync(stop.Token);
                await app.DisposeAsync();
            }
        }
        try
        {
            Directory.Delete(_dataDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
