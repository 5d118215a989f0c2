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

    [Fact]
    public async Task A_ca_file_in_the_first_single_root_format_reads_as_one_active_root_and_gains_a_jwt_key()
    {
        var directory = Path.Combine(Path.GetTempPath(), "fabric-castore-" + Guid.NewGuid().ToString("N"));
        try
        {
            var store = new FileCaStore(directory, Protector, TimeProvider.System);
            var created = await store.GetAsync("legacy.test");
            using (var json = System.Text.Json.JsonDocument.Parse(await File.ReadAllTextAsync(store.PathFor("legacy.test"))))
            {
                var root = json.RootElement.GetProperty("roots")[0];
                var legacy = $$"""{"certificatePem":{{root.GetProperty("certificatePem").GetRawText()}},"key":{{root.GetProperty("key").GetRawText()}},"createdAt":"2026-11-30T00:00:00+00:00"}""";
                await File.WriteAllTextAsync(store.PathFor("legacy.test"), legacy);
            }

            var read = await new FileCaStore(directory, Protector, TimeProvider.System).GetAsync("legacy.test");

            // Same root, now with a JWT-SVID key: the one-time upgrade is a change, so the sequence moved on once.
            Assert.Equal(created.Active.CertificatePem, Assert.Single(read.Roots).CertificatePem);
            Assert.Equal(CaRootState.Active, read.Active.State);
            Assert.NotNull(read.Active.JwtPrivateKeyPem);
            Assert.Equal(2, read.Sequence);
            Assert.DoesNotContain("PRIVATE KEY", await File.ReadAllTextAsync(store.PathFor("legacy.test")), StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task Concurrent_changes_never_lose_one_and_the_sequence_counts_each()
    {
        var directory = Path.Combine(Path.GetTempPath(), "fabric-castore-" + Guid.NewGuid().ToString("N"));
        try
        {
            var store = new FileCaStore(directory, Protector, TimeProvider.System);
            var first = await store.GetAsync("cas.test");
            var expiries = Enumerable.Range(1, 8).Select(i => DateTimeOffset.UtcNow.AddHours(i)).ToArray();

            await Task.WhenAll(expiries.Select(e => Task.Run(() => store.UpdateAsync("cas.test", set =>
                set with { Roots = [.. set.Roots.Select(r => r.MaxLeafExpiry is { } m && m >= e ? r : r with { MaxLeafExpiry = e })] }))));

            var last = await store.ReloadAsync("cas.test");
            Assert.Equal(expiries.Max(), last.Active.MaxLeafExpiry);
            Assert.InRange(last.Sequence, first.Sequence + 1, first.Sequence + expiries.Length);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
