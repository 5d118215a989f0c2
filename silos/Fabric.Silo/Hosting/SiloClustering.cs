using Fabric.Hosting;
using Fabric.Silo.Grains;
using Orleans.Configuration;
using Orleans.Serialization;
using Orleans.Storage;
using StackExchange.Redis;
using FabricClusterOptions = Fabric.Hosting.ClusterOptions;
using OrleansClusterOptions = Orleans.Configuration.ClusterOptions;

namespace Fabric.Silo.Hosting;

/// <summary>
/// Clustering and grain storage for the silo, chosen by <c>Fabric:Cluster:Provider</c>:
/// <list type="bullet">
/// <item><c>localhost</c> (default): one silo, development clustering, in-memory state. Orleans'
/// membership defaults are kept: there is no peer to probe, so tuning would change nothing.</item>
/// <item><c>redis</c>: membership table and every grain state (CA key and local secrets included,
/// both encrypted before they reach storage) in the Redis named by <c>ConnectionStrings:redis</c>;
/// silos advertise <c>Fabric:Cluster:AdvertisedIP</c> (default 127.0.0.1) and detect a dead peer in
/// about a second (<see cref="MembershipTuning"/>).</item>
/// </list>
/// </summary>
internal static class SiloClustering
{
    public static ISiloBuilder UseFabricClustering(this ISiloBuilder silo, IConfiguration configuration)
    {
        var cluster = ClusterSettings.Read(configuration);
        if (cluster.IsLocalhost)
        {
            silo.UseLocalhostClustering(cluster.SiloPort, cluster.GatewayPort, serviceId: cluster.ServiceId, clusterId: cluster.ClusterId);
            silo.AddMemoryGrainStorage(GrainStorage.Name);
            silo.Services.AddSingleton(new GrainStorageDurability(OutlivesSilo: false));
            return silo;
        }

        var redis = ClusterSettings.ParseRedis(configuration);
        silo.Services.AddSingleton(new GrainStorageDurability(OutlivesSilo: true));
        silo.Configure<OrleansClusterOptions>(o =>
        {
            o.ClusterId = cluster.ClusterId;
            o.ServiceId = cluster.ServiceId;
        });
        silo.ConfigureEndpoints(cluster.AdvertisedAddress(), cluster.SiloPort, cluster.GatewayPort);
        silo.UseRedisClustering(o => o.ConfigurationOptions = redis.Clone());
        // The grain directory in Redis too, not spread over the silos: a silo joining or leaving hands no directory
        // range over, so no call in that window can activate a second policy catalog, CA or registry next to the first
        // (Orleans' in-cluster directory allows such duplicates during membership changes; their writes would then
        // fail on the storage ETag, but reads could be served from two states).
        silo.UseRedisGrainDirectoryAsDefault(o => o.ConfigurationOptions = redis.Clone());
        // Orleans' binary serializer, not the provider's default JSON: state types are [GenerateSerializer]
        // with [Id]s and aliases, so renaming a type never breaks stored state (JSON writes CLR type names,
        // and rejects compiler-generated collection types such as those behind collection expressions).
        silo.AddRedisGrainStorage(GrainStorage.Name, storage => storage.Configure<Serializer>((o, serializer) =>
        {
            o.ConfigurationOptions = redis.Clone();
            o.GrainStorageSerializer = new OrleansGrainStorageSerializer(serializer);
        }));
        silo.Configure<ClusterMembershipOptions>(o =>
        {
            var tuning = cluster.Membership;
            o.ProbeTimeout = tuning.ProbeTimeout;
            o.NumMissedProbesLimit = tuning.NumMissedProbesLimit;
            o.NumVotesForDeathDeclaration = tuning.NumVotesForDeathDeclaration;
            o.TableRefreshTimeout = tuning.TableRefreshTimeout;
            o.IAmAliveTablePublishTimeout = tuning.IAmAliveTablePublishTimeout;
        });
        return silo;
    }
}
