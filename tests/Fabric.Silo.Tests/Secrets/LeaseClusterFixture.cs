using Fabric.Silo.Grains;
using Fabric.Silo.Secrets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Orleans.Hosting;
using Orleans.TestingHost;

namespace Fabric.Silo.Tests.Secrets;

/// <summary>
/// An in-process cluster whose lease grains run on a <see cref="FakeTimeProvider"/> and a
/// <see cref="FakeLeasingSource"/>, so lease lifetimes are driven by the test, not by waiting.
/// </summary>
public sealed class LeaseClusterFixture : IAsyncLifetime
{
    private InProcessTestCluster? _cluster;

    public FakeTimeProvider Time { get; } = new(DateTimeOffset.UtcNow);

    public FakeLeasingSource Source { get; private set; } = null!;

    public IClusterClient Client => _cluster!.Client;

    public InProcessTestCluster Cluster => _cluster!;

    /// <summary>Calls that reached a grain while it was still in another call (see <see cref="InterleavingRecorder"/>).</summary>
    public InterleavingRecorder Interleavings { get; } = new();

    public async Task InitializeAsync()
    {
        Source = new FakeLeasingSource(Time);
        var builder = new InProcessTestClusterBuilder(initialSilosCount: 1);
        builder.ConfigureSilo((_, silo) =>
        {
            silo.AddMemoryGrainStorage(GrainStorage.Name);
            silo.AddIncomingGrainCallFilter(Interleavings.InvokeAsync);
            // Only the fabric's grains get the fake clock (keyed lookups are not used by Orleans itself).
            silo.Services.AddSingleton(new LocalSecretProtector([.. Enumerable.Range(1, 32).Select(i => (byte)i)]));
            silo.Services.Configure<Fabric.Silo.Audit.AuditOptions>(_ => { });
            silo.Services.AddSingleton<Fabric.Silo.Audit.IAuditStore, Fabric.Silo.Audit.MemoryAuditStore>();
            silo.Services.Configure<LeaseOptions>(_ => { });
            silo.Services.AddSingleton<ISecretSource>(Source);
            silo.Services.AddSingleton<ISecretSource, LocalSecretSource>();
            silo.Services.AddSingleton<SecretSourceRegistry>();
            silo.Services.AddSingleton<TimeProvider>(Time);
        });
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
}

[CollectionDefinition(Name)]
public sealed class LeaseClusterCollection : ICollectionFixture<LeaseClusterFixture>
{
    public const string Name = "lease-cluster";
}
