using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Serialization;
using Fabric.Hosting;
using Fabric.Silo.Hosting;
using Fabric.Silo.Secrets;
using StackExchange.Redis;

namespace Fabric.Silo.Identity;

/// <summary>
/// Where a cluster keeps its CA: the root certificate and its private key, the key encrypted under the
/// local store key (AES-256-GCM, the trust domain as associated data). Outside grain storage on purpose:
/// a silo needs its own SVID, and so the CA, before it may open a single Orleans link.
/// <list type="bullet">
/// <item><c>localhost</c>: a 0600 file <c>&lt;data dir&gt;/ca-&lt;td&gt;.json</c>, so a restarted silo keeps the
/// root its edges and agents trust.</item>
/// <item><c>redis</c>: the key <c>fabric:&lt;serviceId&gt;:ca:&lt;td&gt;</c> in the cluster's Redis, written with
/// SET NX: silos starting together agree on one root, and each silo reads the root the first one made.</item>
/// </list>
/// </summary>
public abstract class CaStore(LocalSecretProtector protector, TimeProvider time)
{
    public static readonly TimeSpan RootValidity = TimeSpan.FromDays(365);

    private readonly ConcurrentDictionary<string, CaMaterial> _loaded = new(StringComparer.Ordinal);

    /// <summary>The CA of <paramref name="trustDomain"/>, created on first use; read once per process.</summary>
    public async Task<CaMaterial> GetOrCreateAsync(string trustDomain, CancellationToken cancellationToken = default)
    {
        if (_loaded.TryGetValue(trustDomain, out var loaded))
        {
            return loaded;
        }
        var material = await LoadAsync(trustDomain, cancellationToken);
        return _loaded.GetOrAdd(trustDomain, material);
    }

    private async Task<CaMaterial> LoadAsync(string trustDomain, CancellationToken cancellationToken)
    {
        var stored = await ReadAsync(trustDomain, cancellationToken);
        if (stored is null)
        {
            var created = SvidIssuer.CreateRoot(trustDomain, time.GetUtcNow(), RootValidity);
            var candidate = new StoredCa
            {
                CertificatePem = created.CertificatePem,
                Key = protector.Encrypt(KeyContext(trustDomain), created.PrivateKeyPem),
                CreatedAt = time.GetUtcNow(),
            };
            // Whoever wrote first wins; everyone then reads back the winner.
            await TryCreateAsync(trustDomain, candidate, cancellationToken);
            stored = await ReadAsync(trustDomain, cancellationToken)
                ?? throw new InvalidOperationException($"the CA of '{trustDomain}' vanished right after it was created");
        }
        var key = protector.Decrypt(KeyContext(trustDomain), stored.Key);
        return new CaMaterial(trustDomain, stored.CertificatePem, key);
    }

    /// <summary>Associated data binding the encrypted key to its trust domain.</summary>
    public static string KeyContext(string trustDomain) => "ca:" + trustDomain;

    protected abstract Task<StoredCa?> ReadAsync(string trustDomain, CancellationToken cancellationToken);

    protected abstract Task TryCreateAsync(string trustDomain, StoredCa ca, CancellationToken cancellationToken);

    protected static string Serialize(StoredCa ca) => JsonSerializer.Serialize(ca, CaJson.Default.StoredCa);

    protected static StoredCa Deserialize(string json) =>
        JsonSerializer.Deserialize(json, CaJson.Default.StoredCa) ?? throw new InvalidOperationException("the stored CA is empty");

    /// <summary>The stored form; never holds the key in clear.</summary>
    public sealed class StoredCa
    {
        public required string CertificatePem { get; init; }
        public required EncryptedValue Key { get; init; }
        public required DateTimeOffset CreatedAt { get; init; }

        public override string ToString() => $"StoredCa(createdAt={CreatedAt:O}, key=***)";
    }
}

public sealed class FileCaStore(string directory, LocalSecretProtector protector, TimeProvider time) : CaStore(protector, time)
{
    public string PathFor(string trustDomain) => Path.Combine(directory, $"ca-{trustDomain}.json");

    protected override async Task<StoredCa?> ReadAsync(string trustDomain, CancellationToken cancellationToken)
    {
        var path = PathFor(trustDomain);
        return File.Exists(path) ? Deserialize(await File.ReadAllTextAsync(path, cancellationToken)) : null;
    }

    protected override Task TryCreateAsync(string trustDomain, StoredCa ca, CancellationToken cancellationToken)
    {
        PrivateFile.TryCreate(PathFor(trustDomain), Serialize(ca));
        return Task.CompletedTask;
    }
}

internal sealed class RedisCaStore(IConnectionMultiplexer redis, IConfiguration configuration, LocalSecretProtector protector, TimeProvider time)
    : CaStore(protector, time)
{
    private readonly string _serviceId = ClusterSettings.Read(configuration).ServiceId;

    private RedisKey KeyFor(string trustDomain) => $"fabric:{_serviceId}:ca:{trustDomain}";

    protected override async Task<StoredCa?> ReadAsync(string trustDomain, CancellationToken cancellationToken)
    {
        var value = await redis.GetDatabase().StringGetAsync(KeyFor(trustDomain));
        return value.IsNullOrEmpty ? null : Deserialize(value.ToString());
    }

    protected override Task TryCreateAsync(string trustDomain, StoredCa ca, CancellationToken cancellationToken) =>
        redis.GetDatabase().StringSetAsync(KeyFor(trustDomain), Serialize(ca), when: When.NotExists);
}

public static class CaStoreRegistration
{
    /// <summary>The CA store by cluster provider: a data-directory file (embedded) or the cluster's Redis.</summary>
    public static IServiceCollection AddCaStore(this IServiceCollection services, IConfiguration configuration)
    {
        var cluster = configuration.GetSection(ClusterOptions.Section).Get<ClusterOptions>() ?? new ClusterOptions();
        if (cluster.IsRedis)
        {
            services.AddSingleton<CaStore, RedisCaStore>();
        }
        else
        {
            services.AddSingleton<CaStore>(sp => new FileCaStore(
                FabricDataDirectory.Resolve(configuration), sp.GetRequiredService<LocalSecretProtector>(), sp.GetRequiredService<TimeProvider>()));
        }
        return services;
    }
}

[JsonSerializable(typeof(CaStore.StoredCa))]
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
internal sealed partial class CaJson : JsonSerializerContext;
