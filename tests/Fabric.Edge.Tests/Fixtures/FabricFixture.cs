using ModelContextProtocol.Client;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Fabric.Contracts.Identity;
using Fabric.Edge.Audit;
using Fabric.Edge.Hosting;
using Fabric.Edge.Tests.Launch;
using Fabric.Silo.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Fabric.Edge.Tests.Fixtures;

/// <summary>
/// A whole fabric in the test process, every part real: the silo host (Orleans silo on localhost
/// clustering with free ports, management API on Kestrel), the edge (Orleans client, Kestrel mTLS
/// on loopback port 0 with its SVID from the cluster's CA) and a real MCP server upstream.
/// Tests share it and keep out of each other's way with unique server names and SPIFFE IDs.
/// </summary>
public class FabricFixture : IAsyncLifetime
{
    public const string AdminToken = "e2e-admin-token-0123456789abcdef";
    public const string TrustDomain = "fabric.local";

    private readonly string _dataDirectory = Path.Combine(Path.GetTempPath(), "fabric-e2e-" + Guid.NewGuid().ToString("N"));
    private WebApplication? _silo;
    private WebApplication? _edge;
    private string _bundlePem = "";

    public LogCapture SiloLogs { get; } = new();
    public LogCapture EdgeLogs { get; } = new();
    public Uri ApiUrl { get; private set; } = null!;
    public Uri EdgeUrl { get; private set; } = null!;
    public HttpClient Admin { get; private set; } = null!;
    public TestMcpServer Upstream { get; private set; } = null!;
    public WebApplication EdgeApp => _edge!;
    public X509Certificate2Collection Bundle { get; private set; } = [];

    /// <summary>Extra silo arguments (e.g. a secret source's configuration) for derived fixtures.</summary>
    protected virtual IEnumerable<string> SiloArguments() => [];

    /// <summary>Extra edge arguments for derived fixtures.</summary>
    protected virtual IEnumerable<string> EdgeArguments() => [];

    /// <summary>Stops the silo (the whole cluster, in this fixture) while the edge keeps running.</summary>
    public async Task StopSiloAsync()
    {
        if (_silo is { } silo)
        {
            _silo = null;
            await silo.StopAsync();
            await silo.DisposeAsync();
        }
    }

    public int SiloPort { get; } = FreePort.Next();
    public int GatewayPort { get; } = FreePort.Next();
    public string ClusterId => $"e2e-{SiloPort}";
    public IServiceProvider SiloServices => _silo!.Services;
    public string DataDirectory => _dataDirectory;

    private string[] Shared =>
    [
        $"--Fabric:Cluster:SiloPort={SiloPort}",
        $"--Fabric:Cluster:GatewayPort={GatewayPort}",
        $"--Fabric:Cluster:ClusterId={ClusterId}",
        $"--Fabric:DataDirectory={_dataDirectory}",
        // Each edge its own egress proxy ports (the default, 127.0.0.1:7480, is one per machine).
        "--Fabric:Edge:Egress:ProxyUrls=http://127.0.0.1:0;https://127.0.0.1:0",
        // The launch tests run their stdio servers with the dotnet host (and their hostile ones with python3).
        $"--Fabric:Edge:Launch:AllowedCommands={StdioServers.Dotnet};{StdioServers.Python}",
    ];

    /// <summary>Starts one more edge in this fabric (owned by the caller) with <paramref name="arguments"/> (e.g. its join token).</summary>
    public async Task<WebApplication> StartEdgeAsync(string name, IEnumerable<string> arguments, LogCapture? logs = null)
    {
        var edge = FabricEdgeApp.Build([.. Shared, "--urls=https://127.0.0.1:0", $"--Fabric:Edge:Name={name}",
            $"--Fabric:Edge:AuditSpoolDirectory={Path.Combine(_dataDirectory, "edge-audit-" + name)}", .. arguments], b => Capture(b, logs ?? EdgeLogs));
        await edge.StartAsync();
        return edge;
    }

    public virtual async Task InitializeAsync()
    {
        var shared = Shared;

        _silo = FabricSiloApp.Build([.. shared, .. SiloArguments(), "--urls=http://127.0.0.1:0", EdgeJoinArguments.AnyBootstrapPort, $"--FABRIC_ADMIN_TOKEN={AdminToken}"], b => Capture(b, SiloLogs));
        await _silo.StartAsync();
        ApiUrl = new Uri(Address(_silo));

        _edge = FabricEdgeApp.Build([.. shared, "--urls=https://127.0.0.1:0", "--Fabric:Edge:Name=e2e", $"--Fabric:Edge:AuditSpoolDirectory={Path.Combine(_dataDirectory, "edge-audit")}", .. EdgeArguments()], b => Capture(b, EdgeLogs));
        await _edge.StartAsync();
        EdgeUrl = new Uri(Address(_edge));

        Admin = new HttpClient { BaseAddress = ApiUrl };
        Admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AdminToken);
        _bundlePem = await Admin.GetStringAsync("/v1/bundle");
        Bundle = SvidPem.LoadCertificates(_bundlePem);

        Upstream = await TestMcpServer.StartAsync();
    }

    public virtual async Task DisposeAsync()
    {
        Admin.Dispose();
        await Upstream.DisposeAsync();
        if (_edge is not null)
        {
            await _edge.StopAsync();
            await _edge.DisposeAsync();
        }
        if (_silo is not null)
        {
            await _silo.StopAsync();
            await _silo.DisposeAsync();
        }
        try
        {
            Directory.Delete(_dataDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static void Capture(WebApplicationBuilder builder, LogCapture capture)
    {
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(LogLevel.Debug);
        builder.Logging.AddFilter("Orleans", LogLevel.Information);
        builder.Logging.AddFilter("Microsoft", LogLevel.Information);
        builder.Logging.AddProvider(capture);
    }

    public static string Address(WebApplication app) =>
        app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();

    public Uri McpUrl(string server) => new(EdgeUrl, "/mcp/" + server);

    /// <summary>A unique name for a test's server, policy or workload.</summary>
    public static string Unique(string prefix) => prefix + "-" + Guid.NewGuid().ToString("N")[..10];

    /// <summary>Mints an SVID through the management API, as an agent without SPIRE would.</summary>
    public async Task<X509Certificate2> MintSvidAsync(string spiffeId, int ttlSeconds = 3600)
    {
        using var response = await Admin.PostAsJsonAsync("/v1/svids", new { spiffeId, ttlSeconds, dnsNames = Array.Empty<string>() });
        response.EnsureSuccessStatusCode();
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return SvidPem.LoadCertificate(json.RootElement.GetProperty("certificatePem").GetString()!, json.RootElement.GetProperty("privateKeyPem").GetString()!);
    }

    /// <summary>
    /// Mints an SVID with the CA's own key, past the management API and the CA grain (which both refuse reserved
    /// <c>/fabric/</c> IDs): what a stolen edge or silo certificate, or one a compromised silo signed, looks like.
    /// </summary>
    public Task<X509Certificate2> MintThroughTheCaGrainAsync(string spiffeId) => MintWithTheCaKeyAsync(_silo!.Services, spiffeId);

    /// <summary>See <see cref="MintThroughTheCaGrainAsync"/>: signs with the CA material of the silo host <paramref name="silo"/>.</summary>
    public static async Task<X509Certificate2> MintWithTheCaKeyAsync(IServiceProvider silo, string spiffeId, IReadOnlyList<string>? dnsNames = null, IReadOnlyList<string>? ipAddresses = null)
    {
        var trustDomain = SpiffeId.Parse(spiffeId).TrustDomain;
        var ca = await silo.GetRequiredService<Fabric.Silo.Identity.CaStore>().GetOrCreateAsync(trustDomain);
        var issued = Fabric.Silo.Identity.SvidIssuer.Issue(ca, new Fabric.Contracts.Grains.SvidRequest(spiffeId, TimeSpan.FromHours(1), dnsNames ?? [], ipAddresses ?? []), DateTimeOffset.UtcNow);
        return SvidPem.LoadCertificate(issued.CertificatePem, issued.PrivateKeyPem);
    }

    /// <summary>Validates the edge's certificate against the fabric's bundle only (never the system store).</summary>
    public bool ValidateEdge(HttpRequestMessage _, X509Certificate2? certificate, X509Chain? __, SslPolicyErrors ___) =>
        CustomRootTrust.Chains(certificate, Bundle);

    public HttpClient AgentHttpClient(X509Certificate2? certificate) => McpClients.CreateHttpClient(certificate, ValidateEdge);

    public async Task<ConnectedMcpClient> ConnectAsync(string server, X509Certificate2 certificate, ProtocolGeneration generation, McpClientHandlers? handlers = null) =>
        await McpClients.ConnectAsync(McpUrl(server), generation, certificate, ValidateEdge, handlers: handlers);

    public async Task PutAsync(string path, object body)
    {
        using var response = await Admin.PutAsJsonAsync(path, body);
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"PUT {path} → {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        }
    }

    /// <summary>Waits until every audit record the edge has produced so far reached the audit grain.</summary>
    public Task FlushAuditAsync() => _edge!.Services.GetRequiredService<AuditShipper>().FlushAsync();

    public async Task<JsonElement[]> AuditAsync(string query)
    {
        await FlushAuditAsync();
        using var json = JsonDocument.Parse(await Admin.GetStringAsync("/v1/audit?" + query));
        return [.. json.RootElement.GetProperty("records").EnumerateArray().Select(e => e.Clone())];
    }
}

[CollectionDefinition(Name)]
public sealed class FabricCollection : ICollectionFixture<FabricFixture>
{
    public const string Name = "fabric";
}
