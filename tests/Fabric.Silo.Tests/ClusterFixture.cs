using Fabric.Silo.Grains;
using Fabric.Silo.Secrets;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Hosting;
using Orleans.TestingHost;

namespace Fabric.Silo.Tests;

/// <summary>
/// One in-process Orleans cluster (one silo + client) shared by every test in
/// <see cref="ClusterCollectionDefinition"/>: memory grain storage named "fabric", <see cref="TimeProvider.System"/>, a local secret
/// store keyed with <see cref="LocalSecretKey"/> and default <see cref="Fabric.Silo.Audit.AuditOptions"/>.
/// Grain tests that need more services add them in <see cref="ConfigureSilo"/>; keep keys unique per
/// test (e.g. a Guid in the key) because grains and their state outlive a single test.
/// </summary>
public sealed class ClusterFixture : IAsyncLifetime
{
    private InProcessTestCluster? _cluster;

    public InProcessTestCluster Cluster => _cluster ?? throw new InvalidOperationException("the cluster is not deployed");

    public IClusterClient Client => Cluster.Client;

    /// <summary>The services of the (first) silo, e.g. to read grain storage back.</summary>
    public IServiceProvider SiloServices => Cluster.GetSiloServiceProvider();

    public async Task InitializeAsync()
    {
        var builder = new InProcessTestClusterBuilder(initialSilosCount: 1);
        builder.ConfigureSilo((_, silo) => ConfigureSilo(silo));
        _cluster = builder.Build();
        await _cluster.DeployAsync();
    }

    public async Task DisposeAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }
    }

    /// <summary>Where this cluster's CA store keeps its files (one per trust domain).</summary>
    public static string CaDirectory { get; } = Path.Combine(Path.GetTempPath(), "fabric-ca-" + Guid.NewGuid().ToString("N"));

    /// <summary>The key of the local secret store in this cluster, so tests can decrypt what the grain persisted.</summary>
    public static byte[] LocalSecretKey => [.. Enumerable.Range(1, 32).Select(i => (byte)i)];

    /// <summary>The silo registrations every grain test shares; add new ones here.</summary>
    private static void ConfigureSilo(ISiloBuilder silo)
    {
        silo.AddMemoryGrainStorage("fabric");
        silo.Services.AddSingleton(TimeProvider.System);
        silo.Services.AddSingleton(new LocalSecretProtector(LocalSecretKey));
        silo.Services.AddSingleton<Fabric.Silo.Identity.CaStore>(sp => new Fabric.Silo.Identity.FileCaStore(
            CaDirectory, sp.GetRequiredService<LocalSecretProtector>(), TimeProvider.System));
        silo.Services.Configure<Fabric.Silo.Audit.AuditOptions>(_ => { });
            silo.Services.AddSingleton<Fabric.Silo.Audit.IAuditStore, Fabric.Silo.Audit.MemoryAuditStore>();
    }
}

[CollectionDefinition(Name)]
public sealed class ClusterCollectionDefinition : ICollectionFixture<ClusterFixture>
{
    public const string Name = "cluster";
}
