using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Fabric.Contracts.Identity;
using Fabric.Edge.Audit;
using Fabric.Edge.Hosting;
using Fabric.Edge.Tests.Fixtures;
using Fabric.Silo.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Fabric.Edge.Tests.Faults;

/// <summary>
/// A Redis-mode fabric in the test process for fault tests: a real <c>redis-server</c>, silo hosts
/// (<see cref="FabricSiloApp"/>) and any number of edges (<see cref="FabricEdgeApp"/>, each its own
/// name and audit spool), all in one cluster id, plus a real MCP server upstream.
/// Every silo gets the same local-secret key, as replicas of one deployment would.
/// </summary>
internal sealed class RedisFabric : IAsyncDisposable
{
    public const string AdminToken = "fault-admin-token-0123456789abcdef";
    public const string TrustDomain = "fabric.local";

    private readonly List<WebApplication> _silos = [];
    private readonly List<WebApplication> _edges = [];
    private readonly string _secretKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    private RedisFabric(RedisServer redis, string clusterId, string directory, string domain)
    {
        Redis = redis;
        ClusterId = clusterId;
        Directory = directory;
        Domain = domain;
    }

    /// <summary>This fabric's trust domain (<see cref="TrustDomain"/> unless started in another).</summary>
    public string Domain { get; }

    public RedisServer Redis { get; }

    public string ClusterId { get; }

    public string Directory { get; }

    public LogCapture Logs { get; } = new();

    public HttpClient Admin { get; private set; } = null!;

    public TestMcpServer Upstream { get; private set; } = null!;

    public X509Certificate2Collection Bundle { get; private set; } = [];

    public IReadOnlyList<WebApplication> Edges => _edges;

    public static Task<RedisFabric> StartAsync(int silos = 1, params string[] redisArguments) =>
        StartInDomainAsync(TrustDomain, silos, redisArguments);

    /// <summary>A fabric of trust domain <paramref name="domain"/> with its own <c>redis-server</c>.</summary>
    public static async Task<RedisFabric> StartInDomainAsync(string domain, int silos = 1, params string[] redisArguments)
    {
        var redis = await RedisServer.StartAsync(redisArguments);
        var clusterId = "faults-" + Guid.NewGuid().ToString("N")[..10];
        var directory = Path.Combine(Path.GetTempPath(), "fabric-faults-" + Guid.NewGuid().ToString("N"));
        var fabric = new RedisFabric(redis, clusterId, directory, domain);
        try
        {
            for (var i = 0; i < silos; i++)
            {
                await fabric.AddSiloAsync();
            }
            if (silos > 0)
            {
                var admin = new HttpClient { BaseAddress = new Uri(Address(fabric._silos[0])) };
                admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AdminToken);
                await fabric.UseAdminAsync(admin);
            }
            fabric.Upstream = await TestMcpServer.StartAsync();
            return fabric;
        }
        catch
        {
            await fabric.DisposeAsync();
            throw;
        }
    }

    /// <summary>The local-secret key every silo of this fabric shares (base64, 32 bytes).</summary>
    public string SecretKey => _secretKey;

    /// <summary>Sends management calls through <paramref name="admin"/> from now on (e.g. a surviving silo's API).</summary>
    public async Task UseAdminAsync(HttpClient admin)
    {
        Admin = admin;
        Bundle = SvidPem.LoadCertificates(await admin.GetStringAsync("/v1/bundle"));
    }

    public string[] ClusterArguments =>
    [
        "--Fabric:Cluster:Provider=redis",
        $"--ConnectionStrings:redis={Redis.ConnectionString}",
        $"--Fabric:Cluster:ClusterId={ClusterId}",
        $"--Fabric:Cluster:ServiceId={ClusterId}",
        $"--Fabric:TrustDomain={Domain}",
    ];

    public async Task<WebApplication> AddSiloAsync()
    {
        var silo = FabricSiloApp.Build(
            [
                .. ClusterArguments,
                $"--Fabric:Cluster:SiloPort={FreePort.Next()}",
                $"--Fabric:Cluster:GatewayPort={FreePort.Next()}",
                $"--Fabric:DataDirectory={Path.Combine(Directory, "silo-" + _silos.Count)}",
                $"--Fabric:Secrets:Local:Key={_secretKey}",
                "--urls=http://127.0.0.1:0",
                EdgeJoinArguments.AnyBootstrapPort,
                $"--FABRIC_ADMIN_TOKEN={AdminToken}",
            ],
            Capture);
        _silos.Add(silo);
        await silo.StartAsync();
        return silo;
    }

    public async Task<WebApplication> AddEdgeAsync(string name, Action<WebApplicationBuilder>? configure = null, params string[] arguments)
    {
        var edge = FabricEdgeApp.Build(
            [
                .. ClusterArguments,
                .. await EdgeJoinArguments.ForAsync(Admin, name),
                "--urls=https://127.0.0.1:0",
                $"--Fabric:Edge:Name={name}",
                $"--Fabric:Edge:AuditSpoolDirectory={Path.Combine(Directory, "spool-" + name)}",
                "--Fabric:Edge:Egress:ProxyUrls=http://127.0.0.1:0",
                .. arguments,
            ],
            builder =>
            {
                Capture(builder);
                configure?.Invoke(builder);
            });
        _edges.Add(edge);
        await edge.StartAsync();
        return edge;
    }

    /// <summary>An admin client for one silo host's management API (owned by the caller).</summary>
    public static HttpClient AdminFor(WebApplication silo)
    {
        var admin = new HttpClient { BaseAddress = new Uri(Address(silo)) };
        admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AdminToken);
        return admin;
    }

    /// <summary>Stops one silo host gracefully (its grains deactivate and reactivate elsewhere from storage).</summary>
    public async Task StopSiloAsync(WebApplication silo)
    {
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await silo.StopAsync(stop.Token);
        await silo.DisposeAsync();
        _silos.Remove(silo);
    }

    public IReadOnlyList<WebApplication> Silos => _silos;

    public static Uri McpUrl(WebApplication edge, string server) => new(new Uri(Address(edge)), "/mcp/" + server);

    public static string Unique(string prefix) => prefix + "-" + Guid.NewGuid().ToString("N")[..10];

    public async Task PutAsync(string path, object body)
    {
        using var response = await Admin.PutAsJsonAsync(path, body);
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"PUT {path} → {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        }
    }

    public async Task<X509Certificate2> MintSvidAsync(string spiffeId)
    {
        using var response = await Admin.PostAsJsonAsync("/v1/svids", new { spiffeId, ttlSeconds = 3600, dnsNames = Array.Empty<string>() });
        response.EnsureSuccessStatusCode();
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return SvidPem.LoadCertificate(json.RootElement.GetProperty("certificatePem").GetString()!, json.RootElement.GetProperty("privateKeyPem").GetString()!);
    }

    /// <summary>Registers a server on the shared upstream with a local credential; returns its name.</summary>
    public async Task<string> AddServerAsync()
    {
        var server = Unique("srv");
        var secret = Unique("key");
        await PutAsync($"/v1/secrets/{secret}", new { value = "sk-" + Guid.NewGuid().ToString("N") });
        await PutAsync($"/v1/servers/{server}", new
        {
            upstream = Upstream.Endpoint.ToString(),
            credential = new { source = "local", @ref = secret, inject = new { header = "Authorization", format = "Bearer {secret}" } },
        });
        return server;
    }

    public async Task<ConnectedMcpClient> ConnectAsync(WebApplication edge, string server, X509Certificate2 certificate, ProtocolGeneration generation)
    {
        try
        {
            return await McpClients.ConnectAsync(McpUrl(edge, server), generation, certificate, ValidateEdge);
        }
        catch (HttpRequestException ex) when (ex.InnerException is IOException)
        {
            // A transport failure at connect is never expected here: say what the nodes logged (Kestrel's own
            // handshake failures included, see Capture) rather than only what the client saw.
            throw new InvalidOperationException($"connecting to {McpUrl(edge, server)} failed: {ex.Message}\n{string.Join('\n', Logs.Lines.TakeLast(60))}", ex);
        }
    }

    /// <summary>Waits until every audit record the edge has produced so far reached the cluster.</summary>
    public static Task FlushAuditAsync(WebApplication edge) => edge.Services.GetRequiredService<AuditShipper>().FlushAsync();

    private bool ValidateEdge(HttpRequestMessage _, X509Certificate2? certificate, X509Chain? __, SslPolicyErrors ___) =>
        CustomRootTrust.Chains(certificate, Bundle);

    private void Capture(WebApplicationBuilder builder)
    {
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(LogLevel.Information);
        builder.Logging.AddFilter("Orleans", LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
        // Kestrel reports why it failed a TLS handshake at Debug only.
        builder.Logging.AddFilter("Microsoft.AspNetCore.Server.Kestrel.Https", LogLevel.Debug);
        builder.Logging.AddProvider(Logs);
    }

    private static string Address(WebApplication app) =>
        app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (Upstream is not null)
            {
                await Upstream.DisposeAsync();
            }
            foreach (var app in Enumerable.Reverse(_edges).Concat(Enumerable.Reverse(_silos)))
            {
                try
                {
                    using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                    await app.StopAsync(stop.Token);
                }
                catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException)
                {
                }
                await app.DisposeAsync();
            }
            if (_silos.Count > 0)
            {
                Admin?.Dispose();
            }
        }
        finally
        {
            // Whatever a host's disposal threw, the redis-server child process must not outlive the test.
            await Redis.DisposeAsync();
        }
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
