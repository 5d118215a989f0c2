using Fabric.Silo.Identity;
using Fabric.Silo.Secrets;
using Microsoft.Extensions.Configuration;
using StackExchange.Redis;

namespace Fabric.Silo.Tests.Identity;

/// <summary>
/// The cluster's CA outside grain storage: silos starting together agree on one root (SET NX in Redis, CreateNew
/// on disk), the key is stored encrypted, and a silo restarted on the same store gets the same root back.
/// </summary>
public sealed class CaStoreTests
{
    private static readonly LocalSecretProtector Protector = new([.. Enumerable.Range(1, 32).Select(i => (byte)i)]);

    [Fact]
    public async Task Silos_racing_on_one_redis_agree_on_one_root_and_the_key_is_stored_encrypted()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var connection = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Fabric:Cluster:Provider"] = "redis",
            ["Fabric:Cluster:ServiceId"] = "ca-race",
            ["ConnectionStrings:redis"] = redis.ConnectionString,
        }).Build();
        var stores = Enumerable.Range(0, 4).Select(_ => new RedisCaStore(connection, configuration, Protector, TimeProvider.System)).ToArray();

        var roots = await Task.WhenAll(stores.Select(s => s.GetOrCreateAsync("race.test")));

        Assert.Single(roots.Select(r => r.CertificatePem).Distinct());
        Assert.Single(roots.Select(r => r.PrivateKeyPem).Distinct());
        var stored = (string?)await connection.GetDatabase().StringGetAsync("fabric:ca-race:ca:race.test");
        Assert.NotNull(stored);
        Assert.DoesNotContain("PRIVATE KEY", stored, StringComparison.Ordinal);
        var restarted = new RedisCaStore(connection, configuration, Protector, TimeProvider.System);
        Assert.Equal(roots[0].CertificatePem, (await restarted.GetOrCreateAsync("race.test")).CertificatePem);
    }

    [Fact]
    public async Task A_restarted_silo_on_the_same_data_directory_keeps_its_root_and_another_key_cannot_open_it()
    {
        var directory = Path.Combine(Path.GetTempPath(), "fabric-castore-" + Guid.NewGuid().ToString("N"));
        try
        {
            var first = await new FileCaStore(directory, Protector, TimeProvider.System).GetOrCreateAsync("file.test");
            var again = await new FileCaStore(directory, Protector, TimeProvider.System).GetOrCreateAsync("file.test");
            var otherKey = new LocalSecretProtector([.. Enumerable.Range(2, 32).Select(i => (byte)i)]);

            Assert.Equal(first.CertificatePem, again.CertificatePem);
            await Assert.ThrowsAnyAsync<System.Security.Cryptography.CryptographicException>(
                () => new FileCaStore(directory, otherKey, TimeProvider.System).GetOrCreateAsync("file.test"));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
