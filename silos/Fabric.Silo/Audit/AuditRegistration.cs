using Fabric.Hosting;
using StackExchange.Redis;

namespace Fabric.Silo.Audit;

public static class AuditRegistration
{
    /// <summary>
    /// The audit store by cluster provider: memory (embedded) or a Redis Stream in the cluster's Redis
    /// (<c>ConnectionStrings:redis</c>), bounded by <c>Fabric:Audit:Capacity</c>.
    /// </summary>
    public static IServiceCollection AddFabricAudit(this IServiceCollection services, IConfiguration configuration)
    {
        services.Configure<AuditOptions>(configuration.GetSection("Fabric:Audit"));
        var cluster = configuration.GetSection(ClusterOptions.Section).Get<ClusterOptions>() ?? new ClusterOptions();
        if (cluster.IsRedis && configuration.GetConnectionString(ClusterOptions.RedisConnectionName) is { Length: > 0 } connection)
        {
            services.AddSingleton<IConnectionMultiplexer>(_ => ConnectionMultiplexer.Connect(connection));
            services.AddSingleton<IAuditStore, RedisAuditStore>();
        }
        else
        {
            services.AddSingleton<IAuditStore, MemoryAuditStore>();
        }
        return services;
    }
}
