using System.Net.Http.Headers;
using Fabric.Silo.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Fabric.Silo.Tests.Cluster;

/// <summary>
/// One real silo host (<see cref="FabricSiloApp"/>) in redis mode: free silo and gateway ports,
/// management API on 127.0.0.1:0. Hosts of one test share a cluster id, a service id and a data
/// directory (hence the local secret store key), as replicas of one deployment would.
/// </summary>
internal sealed class RedisSiloHost : IAsyncDisposable
{
    public const string AdminToken = "redis-cluster-admin-token-0123456789abcdef";

    private readonly WebApplication _app;

    private RedisSiloHost(WebApplication app, HttpClient admin, int siloPort, LogCapture logs)
    {
        _app = app;
        Admin = admin;
        SiloPort = siloPort;
        Logs = logs;
    }

    public HttpClient Admin { get; }

    public int SiloPort { get; }

    public IServiceProvider Services => _app.Services;

    public IGrainFactory Grains => Services.GetRequiredService<IGrainFactory>();

    public LogCapture Logs { get; }

    public static string[] ClusterArguments(RedisServer redis, string clusterId) =>
    [
        "--Fabric:Cluster:Provider=redis",
        $"--ConnectionStrings:redis={redis.ConnectionString}",
        $"--Fabric:Cluster:ClusterId={clusterId}",
        $"--Fabric:Cluster:ServiceId={clusterId}",
    ];

    public static async Task<RedisSiloHost> StartAsync(RedisServer redis, string clusterId, string dataDirectory)
    {
        var siloPort = FreePort.Next();
        var logs = new LogCapture();
        var app = FabricSiloApp.Build(
            [
                .. ClusterArguments(redis, clusterId),
                $"--Fabric:Cluster:SiloPort={siloPort}",
                $"--Fabric:Cluster:GatewayPort={FreePort.Next()}",
                $"--Fabric:DataDirectory={dataDirectory}",
                "--urls=http://127.0.0.1:0",
                EdgeJoinArguments.AnyBootstrapPort,
                $"--FABRIC_ADMIN_TOKEN={AdminToken}",
            ],
            builder =>
            {
                builder.Logging.ClearProviders();
                builder.Logging.SetMinimumLevel(LogLevel.Information);
                builder.Logging.AddFilter("Orleans", LogLevel.Warning);
                builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
                builder.Logging.AddProvider(logs);
            });
        await app.StartAsync();
        var url = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        var admin = new HttpClient { BaseAddress = url };
        admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AdminToken);
        return new RedisSiloHost(app, admin, siloPort, logs);
    }

    public async ValueTask DisposeAsync()
    {
        Admin.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
