using System.Net;
using System.Net.Sockets;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Aspire.Hosting.ApplicationModel;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

/// <summary>
/// The <c>--cluster redis</c> mode (launch profile <c>redis</c>): a real Orleans cluster on a
/// <c>redis-server</c> executable (no containers on these machines), configured through the
/// fabric's own <c>Fabric__Cluster__*</c> keys (not Aspire.Hosting.Orleans' <c>Orleans__*</c>, which
/// the fabric does not read). Fixed ports, none shared with the embedded default, so both can run
/// side by side (the <c>redis</c> launch profile also moves the dashboard):
/// <code>
///   redis-server 127.0.0.1:6380 (AOF in &lt;data&gt;/redis) ◄── membership + grain state + audit stream
///     ▲                 ▲
///   silo-1 :5081 (Orleans 11121/30011)   silo-2 :5082 (Orleans 11122/30012)   one shared local-store key
///     ▲ gateways from the membership table ▲
///   edge-1 https://localhost:7444         edge-2 https://localhost:7445        Orleans clients, own spools
///     ▲                                      ▲
///   demo-agent (API silo-1)               demo-agent-2 (API silo-2)  ──► demo-mcp http://localhost:5091/mcp
/// </code>
/// The local secret store key is generated per run (set <c>Parameters:fabric-secrets-key</c>, base64
/// of 32 bytes, to choose it), so Redis starts empty on every run; with a chosen key its data is kept.
/// </summary>
internal static class RedisCluster
{
    /// <summary>The command-line switch (<c>--cluster redis</c>).</summary>
    public const string ConfigurationKey = "cluster";

    /// <summary>The same choice from configuration or the environment (<c>Fabric__AppHost__Cluster</c>, set by the <c>redis</c> launch profile).</summary>
    public const string SettingKey = "Fabric:AppHost:Cluster";

    private const int RedisPort = 6380;
    private const int DemoServerPort = 5091;
    private const string SecretsKeyParameter = "fabric-secrets-key";
    private const string RedisHealthCheck = "redis-ping";

    private static readonly SiloSpec[] Silos =
    [
        new("silo-1", HttpPort: 5081, SiloPort: 11121, GatewayPort: 30011, BootstrapPort: 5444),
        new("silo-2", HttpPort: 5082, SiloPort: 11122, GatewayPort: 30012, BootstrapPort: 5445),
    ];

    private static readonly EdgeSpec[] Edges =
    [
        new("edge-1", HttpsPort: 7444),
        new("edge-2", HttpsPort: 7445),
    ];

    /// <summary>
    /// True for <c>--cluster redis</c> (or <see cref="SettingKey"/> = <c>redis</c>); false when unset or <c>embedded</c>/<c>localhost</c> (the
    /// default, unchanged); anything else stops the AppHost with the accepted values.
    /// </summary>
    public static bool IsSelected(IConfiguration configuration)
    {
        var mode = configuration[ConfigurationKey] ?? configuration[SettingKey];
        if (string.IsNullOrWhiteSpace(mode)
            || mode.Equals("embedded", StringComparison.OrdinalIgnoreCase)
            || mode.Equals("localhost", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }
        if (mode.Equals("redis", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }
        throw new InvalidOperationException($"--cluster '{mode}' is not supported: use 'redis' (two silos on a redis-server executable) or leave it out (embedded, one silo).");
    }

    public static void AddTo(IDistributedApplicationBuilder builder, IResourceBuilder<ParameterResource> adminToken)
    {
        var dataRoot = DataRoot(builder.Configuration["Fabric:AppHost:DataDirectory"]);
        var chosenKey = builder.Configuration[$"Parameters:{SecretsKeyParameter}"];
        PrepareRedisDirectory(Path.Combine(dataRoot, "redis"), keepData: !string.IsNullOrEmpty(chosenKey));

        // Every silo must decrypt what another silo stored (CA key, local secrets): one key for all.
        var secretsKey = builder.AddParameter(SecretsKeyParameter,
            chosenKey ?? Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)), secret: true);

        builder.Services.AddHealthChecks().AddCheck(RedisHealthCheck, new RedisPing(RedisPort));
        var redisDir = Path.Combine(dataRoot, "redis");
        var redis = builder.AddExecutable("redis", "redis-server", redisDir,
                "--port", RedisPort.ToString(CultureInfo.InvariantCulture),
                "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes", "--dir", redisDir)
            .WithEndpoint(name: "tcp", port: RedisPort, targetPort: RedisPort, scheme: "tcp", isProxied: false)
            .WithHealthCheck(RedisHealthCheck);
        var redisConnection = $"127.0.0.1:{RedisPort}";

        var silos = new List<IResourceBuilder<ProjectResource>>();
        foreach (var spec in Silos)
        {
            var silo = builder.AddProject<Projects.Fabric_Silo>(spec.Name, launchProfileName: null)
                .WithHttpEndpoint(port: spec.HttpPort, name: "http", isProxied: false)
                .WithHttpHealthCheck("/health")
                .WithEnvironment("FABRIC_ADMIN_TOKEN", adminToken)
                .WithEnvironment("Fabric__Secrets__Local__Key", secretsKey)
                .WithEnvironment("Fabric__DataDirectory", Path.Combine(dataRoot, spec.Name))
                .WithEnvironment("Fabric__Cluster__SiloPort", spec.SiloPort.ToString(CultureInfo.InvariantCulture))
                .WithEnvironment("Fabric__Cluster__GatewayPort", spec.GatewayPort.ToString(CultureInfo.InvariantCulture))
                .WithEnvironment("Fabric__Bootstrap__Url", "https://127.0.0.1:" + spec.BootstrapPort.ToString(CultureInfo.InvariantCulture))
                // The first silo keeps the local join file its data directory; the edges read it (node attestation).
                .WithEnvironment("Fabric__Bootstrap__LocalJoinFile", spec == Silos[0] ? "true" : "false")
                .WithRedisCluster(redisConnection)
                .WaitFor(redis);
            silos.Add(silo);
        }

#pragma warning disable ASPIRECERTIFICATES001 // Evaluation API in 13.6; the edge must never get the developer certificate.
        var edges = new List<IResourceBuilder<ProjectResource>>();
        foreach (var spec in Edges)
        {
            var edge = builder.AddProject<Projects.Fabric_Edge>(spec.Name, launchProfileName: null)
                .WithHttpsEndpoint(port: spec.HttpsPort, name: "https", isProxied: false)
                .WithoutHttpsCertificate()
                .WithEnvironment("Fabric__Edge__Name", spec.Name)
                .WithEnvironment("Fabric__Edge__AuditSpoolDirectory", Path.Combine(dataRoot, spec.Name, "audit"))
                .WithEnvironment("Fabric__Edge__Join__File", Path.Combine(dataRoot, Silos[0].Name, "edge-join.json"))
                .WithRedisCluster(redisConnection)
                .WaitFor(redis);
            foreach (var silo in silos)
            {
                edge.WithReference(silo).WaitFor(silo);
            }
            edges.Add(edge);
        }
#pragma warning restore ASPIRECERTIFICATES001

        if (string.Equals(builder.Configuration["Fabric:Demo"], "false", StringComparison.OrdinalIgnoreCase))
        {
            return;
        }

        var demoServer = builder.AddProject<Projects.Fabric_Demo_McpServer>("demo-mcp", launchProfileName: null)
            .WithHttpEndpoint(port: DemoServerPort, name: "http", isProxied: false)
            .WithHttpHealthCheck("/health");
        var demoServerHttp = demoServer.GetEndpoint("http");

        // One agent per edge (the same workload identity and policy), each managing the fabric through
        // a different silo: both edges carry traffic and both silos serve /v1.
        for (var i = 0; i < edges.Count; i++)
        {
            var silo = silos[i % silos.Count];
            var edge = edges[i];
            builder.AddProject<Projects.Fabric_Demo_Agent>(i == 0 ? "demo-agent" : $"demo-agent-{i + 1}", launchProfileName: null)
                .WithEnvironment("FABRIC_ADMIN_TOKEN", adminToken)
                .WithEnvironment("Fabric__ApiUrl", silo.GetEndpoint("http"))
                .WithEnvironment("Fabric__EdgeUrl", edge.GetEndpoint("https"))
                .WithEnvironment("Fabric__DemoServerUrl", ReferenceExpression.Create($"{demoServerHttp}/mcp"))
                .WithReference(silo).WaitFor(silo)
                .WithReference(edge).WaitFor(edge)
                .WithReference(demoServer).WaitFor(demoServer);
        }
    }

    /// <summary>The cluster keys every silo and edge shares.</summary>
    private static IResourceBuilder<ProjectResource> WithRedisCluster(this IResourceBuilder<ProjectResource> project, string redisConnection) =>
        project
            .WithEnvironment("Fabric__Cluster__Provider", "redis")
            .WithEnvironment("ConnectionStrings__redis", redisConnection);

    /// <summary>
    /// <c>Fabric:AppHost:DataDirectory</c>, else <c>$XDG_DATA_HOME/fabric/apphost-redis</c>, else
    /// <c>~/.local/share/fabric/apphost-redis</c>: Redis' AOF, each silo's data directory and each
    /// edge's audit spool (kept across runs, so a spool left by a stopped edge is shipped next run).
    /// </summary>
    private static string DataRoot(string? configured)
    {
        if (!string.IsNullOrEmpty(configured))
        {
            return Path.GetFullPath(configured);
        }
        var xdg = Environment.GetEnvironmentVariable("XDG_DATA_HOME");
        var root = string.IsNullOrEmpty(xdg)
            ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "share")
            : xdg;
        return Path.Combine(root, "fabric", "apphost-redis");
    }

    /// <summary>
    /// Refuses to touch the directory while something holds the Redis port (another redis-mode
    /// AppHost), then empties it unless the run chose its secrets key: state encrypted under a
    /// previous run's generated key could not be decrypted by this run's silos.
    /// </summary>
    private static void PrepareRedisDirectory(string directory, bool keepData)
    {
        try
        {
            var probe = new TcpListener(IPAddress.Loopback, RedisPort);
            probe.Start();
            probe.Stop();
        }
        catch (SocketException ex)
        {
            throw new InvalidOperationException($"Port {RedisPort} (the redis mode's redis-server) is in use: is another '--cluster redis' AppHost running? ({ex.SocketErrorCode})", ex);
        }
        if (!keepData && Directory.Exists(directory))
        {
            Directory.Delete(directory, recursive: true);
        }
        Directory.CreateDirectory(directory);
    }

    private sealed record SiloSpec(string Name, int HttpPort, int SiloPort, int GatewayPort, int BootstrapPort);

    private sealed record EdgeSpec(string Name, int HttpsPort);

    /// <summary>Healthy once redis-server answers PING: silos and edges start only against a live Redis.</summary>
    private sealed class RedisPing(int port) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, port, cancellationToken);
                var stream = client.GetStream();
                await stream.WriteAsync("PING\r\n"u8.ToArray(), cancellationToken);
                var buffer = new byte[16];
                var read = await stream.ReadAsync(buffer, cancellationToken);
                var reply = Encoding.ASCII.GetString(buffer, 0, read);
                return reply.StartsWith("+PONG", StringComparison.Ordinal)
                    ? HealthCheckResult.Healthy()
                    : HealthCheckResult.Unhealthy($"redis-server answered '{reply.Trim()}'");
            }
            catch (Exception ex) when (ex is SocketException or IOException)
            {
                return HealthCheckResult.Unhealthy($"redis-server on 127.0.0.1:{port} is not answering: {ex.Message}");
            }
        }
    }
}
