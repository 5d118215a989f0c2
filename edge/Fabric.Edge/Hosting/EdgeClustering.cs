using Fabric.Hosting;
using Fabric.Edge.Caching;
using Orleans.Configuration;
using StackExchange.Redis;
using FabricClusterOptions = Fabric.Hosting.ClusterOptions;
using OrleansClusterOptions = Orleans.Configuration.ClusterOptions;

namespace Fabric.Edge.Hosting;

/// <summary>
/// The edge as an Orleans client of the cluster named by <c>Fabric:Cluster</c>: the localhost
/// gateway (<c>localhost</c>, default) or every gateway in the Redis membership table (<c>redis</c>,
/// refreshed every <c>Fabric:Cluster:Membership:GatewayListRefreshPeriod</c>), so an edge works
/// against any number of silos. Also registers <see cref="ClusterCalls"/> with
/// <c>Fabric:Cluster:CallRetryBudget</c>.
/// </summary>
internal static class EdgeClustering
{
    public static WebApplicationBuilder AddFabricClusterClient(this WebApplicationBuilder builder)
    {
        var cluster = ClusterSettings.Read(builder.Configuration);
        var redis = cluster.IsRedis ? ClusterSettings.ParseRedis(builder.Configuration) : null;
        builder.UseOrleansClient(client =>
        {
            if (redis is null)
            {
                client.UseLocalhostClustering(cluster.GatewayPort, cluster.ServiceId, cluster.ClusterId);
            }
            else
            {
                client.Configure<OrleansClusterOptions>(o =>
                {
                    o.ClusterId = cluster.ClusterId;
                    o.ServiceId = cluster.ServiceId;
                });
                client.UseRedisClustering(o => o.ConfigurationOptions = redis.Clone());
                client.Configure<GatewayOptions>(o => o.GatewayListRefreshPeriod = cluster.Membership.GatewayListRefreshPeriod);
            }
            // Every link to a gateway is TLS: the edge's SVID out, a silo's SVID expected back (LinkTls).
            client.Configure<ClientConnectionOptions>(o => o.ConfigureConnection(connection =>
            {
                var services = connection.ApplicationServices;
                connection.UseClientTls(LinkTls.Client(
                    services.GetRequiredService<NodeIdentity>(),
                    FabricRole.Silo,
                    services.GetRequiredService<TimeProvider>(),
                    services.GetRequiredService<ILoggerFactory>().CreateLogger("Fabric.Links")));
            }));
            // Keep trying while the cluster starts; the edge serves nothing before it has an SVID anyway.
            client.UseConnectionRetryFilter(async (_, ct) =>
            {
                await Task.Delay(TimeSpan.FromMilliseconds(500), ct);
                return true;
            });
        });
        builder.Services.AddSingleton(sp => new ClusterCalls(
            cluster.CallRetryBudget,
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<ClusterCalls>>()));
        return builder;
    }
}
