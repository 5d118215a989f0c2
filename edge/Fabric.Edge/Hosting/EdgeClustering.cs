using Fabric.Edge.Caching;
using Orleans.Configuration;
using StackExchange.Redis;
using FabricClusterOptions = Fabric.Contracts.Hosting.ClusterOptions;
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
        var cluster = Read(builder.Configuration);
        var redis = cluster.IsRedis ? ParseRedis(builder.Configuration) : null;
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

    /// <summary>Binds and validates <c>Fabric:Cluster</c>; every problem is reported at once, by key.</summary>
    public static FabricClusterOptions Read(IConfiguration configuration)
    {
        var cluster = configuration.GetSection(FabricClusterOptions.Section).Get<FabricClusterOptions>() ?? new FabricClusterOptions();
        var errors = cluster.Validate(configuration.GetConnectionString(FabricClusterOptions.RedisConnectionName));
        if (errors.Count > 0)
        {
            throw new InvalidOperationException("Invalid cluster configuration: " + string.Join(" ", errors));
        }
        return cluster;
    }

    /// <summary>
    /// Parses <c>ConnectionStrings:redis</c> (the same rules as the silo's <c>SiloClustering.ParseRedis</c>).
    /// The error names the key and the client's complaint, never the string itself: it may carry a password.
    /// </summary>
    public static ConfigurationOptions ParseRedis(IConfiguration configuration)
    {
        const string key = "ConnectionStrings:" + FabricClusterOptions.RedisConnectionName;
        ConfigurationOptions options;
        try
        {
            options = ConfigurationOptions.Parse(configuration.GetConnectionString(FabricClusterOptions.RedisConnectionName)!);
        }
        catch (ArgumentException ex)
        {
            throw new InvalidOperationException($"Invalid cluster configuration: {key} is not a valid Redis connection string: {ex.Message}", ex);
        }
        if (options.EndPoints.Count == 0)
        {
            throw new InvalidOperationException($"Invalid cluster configuration: {key} names no Redis endpoint (e.g. 127.0.0.1:6379).");
        }
        return options;
    }
}
