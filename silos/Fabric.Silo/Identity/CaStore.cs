using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Serialization;
using Fabric.Hosting;
using Fabric.Silo.Hosting;
using Fabric.Silo.Secrets;
using StackExchange.Redis;

namespace Fabric.Silo.Identity;

/// <summary>
/// Where a cluster keeps its CA (<see cref="CaSet"/>: the roots, their keys encrypted under the local store key
/// with AES-256-GCM and the trust domain as associated data, and the bundle sequence). Outside grain storage on
/// purpose: a silo needs its own SVID, and so the CA, before it may open a single Orleans link.
/// <list type="bullet">
/// <item><c>localhost</c>: a 0600 file <c>&lt;data dir&gt;/ca-&lt;td&gt;.json</c>, so a restarted silo keeps the
/// roots its edges and agents trust.</item>
/// <item><c>redis</c>: the key <c>fabric:&lt;serviceId&gt;:ca:&lt;td&gt;</c> in the cluster's Redis: created with
/// SET NX (silos starting together agree on one root), changed by compare-and-swap (a rotation on one silo
/// never overwrites another's change).</item>
/// </list>
/// Each process reads the set once and keeps it; <see cref="ReloadAsync"/> re-reads it after a change the CA
/// grain announced.
/// </summary>
public abstract class CaStore(LocalSecretProtector protector, TimeProvider time, TimeSpan? leafExpirySlack = null)
{
    public static readonly TimeSpan RootValidity = TimeSpan.FromDays(365);

    /// <summary>
    /// A leaf's expiry is recorded against its root only when it moves the root's maximum by more than this
    /// (<c>Fabric:Ca:LeafExpirySlack</c>, default 1 min), and a retiring root waits this much longer.
    /// </summary>
    public TimeSpan LeafExpirySlack { get; } = leafExpirySlack ?? TimeSpan.FromMinutes(1);

    private readonly ConcurrentDictionary<string, CaSet> _loaded = new(StringComparer.Ordinal);

    /// <summary>The signing material of <paramref name="trustDomain"/> (the active root, with the whole bundle).</summary>
    public async Task<CaMaterial> GetOrCreateAsync(string trustDomain, CancellationToken cancellationToken = default) =>
        (await GetAsync(trustDomain, cancellationToken)).Signing;

    /// <summary>The CA of <paramref name="trustDomain"/>, created on first use; read once per process.</summary>
    public async Task<CaSet> GetAsync(string trustDomain, CancellationToken cancellationToken = default) =>
        _loaded.TryGetValue(trustDomain, out var loaded) ? loaded : await ReloadAsync(trustDomain, cancellationToken);

    /// <summary>Re-reads the CA of <paramref name="trustDomain"/> (creating it if there is none).</summary>
    public async Task<CaSet> ReloadAsync(string trustDomain, CancellationToken cancellationToken = default)
    {
        var raw = await ReadAsync(trustDomain, cancellationToken);
        if (raw is null)
        {
            var created = SvidIssuer.CreateRoot(trustDomain, time.GetUtcNow(), RootValidity);
            var first = new CaSet(trustDomain, 1, [CaRoot.Create(created, CaRootState.Active, time.GetUtcNow())]);
            // Whoever wrote first wins; everyone then reads back the winner.
            await TryCreateAsync(trustDomain, Serialize(first), cancellationToken);
            raw = await ReadAsync(trustDomain, cancellationToken)
                ?? throw new InvalidOperationException($"the CA of '{trustDomain}' vanished right after it was created");
        }
        var set = Deserialize(trustDomain, raw);
        if (set.Roots.Any(r => r.JwtPrivateKeyPem is null))
        {
            // A CA from before JWT-SVIDs: give each root its JWT key once (compare-and-swap: one writer wins).
            return await UpdateAsync(trustDomain, s => s.Roots.All(r => r.JwtPrivateKeyPem is not null)
                ? null
                : s with { Roots = [.. s.Roots.Select(r => r.JwtPrivateKeyPem is null ? r with { JwtPrivateKeyPem = CaRoot.NewJwtKey() } : r)] }, cancellationToken);
        }
        return Remember(set);
    }

    /// <summary>
    /// Changes the CA by compare-and-swap: <paramref name="change"/> sees the stored set and returns the new one
    /// (its sequence is set here, one more than the stored one) or null for no change. Retried on a concurrent write.
    /// </summary>
    public async Task<CaSet> UpdateAsync(string trustDomain, Func<CaSet, CaSet?> change, CancellationToken cancellationToken = default)
    {
        for (var attempt = 0; attempt < 20; attempt++)
        {
            var raw = await ReadAsync(trustDomain, cancellationToken);
            if (raw is null)
            {
                await ReloadAsync(trustDomain, cancellationToken);
                continue;
            }
            var current = Deserialize(trustDomain, raw);
            var changed = change(current);
            if (changed is null)
            {
                return Remember(current);
            }
            var next = changed with { Sequence = current.Sequence + 1 };
            if (next.Roots.Count(r => r.State == CaRootState.Active) != 1)
            {
                throw new InvalidOperationException("a CA has exactly one active root");
            }
            if (await TryReplaceAsync(trustDomain, raw, Serialize(next), cancellationToken))
            {
                return Remember(next);
            }
        }
        throw new InvalidOperationException($"the CA of '{trustDomain}' kept changing under a concurrent writer");
    }

    /// <summary>
    /// Records that the root <paramref name="rootPem"/> signed a leaf valid until <paramref name="expiresAt"/>, so
    /// a retiring root stays in the bundle until then. Written only when it moves the maximum by more than
    /// <see cref="LeafExpirySlack"/>; retirement adds the slack back.
    /// </summary>
    public async Task RecordLeafAsync(string trustDomain, string rootPem, DateTimeOffset expiresAt, CancellationToken cancellationToken = default)
    {
        var known = (await GetAsync(trustDomain, cancellationToken)).Roots.FirstOrDefault(r => r.CertificatePem == rootPem);
        if (known?.MaxLeafExpiry is { } max && expiresAt <= max + LeafExpirySlack)
        {
            return;
        }
        await UpdateAsync(trustDomain, set =>
        {
            var root = set.Roots.FirstOrDefault(r => r.CertificatePem == rootPem);
            if (root is null || root.MaxLeafExpiry is { } stored && expiresAt <= stored + LeafExpirySlack)
            {
                return null;
            }
            return set with { Roots = [.. set.Roots.Select(r => ReferenceEquals(r, root) ? r with { MaxLeafExpiry = expiresAt } : r)] };
        }, cancellationToken);
    }

    /// <summary>Associated data binding the encrypted key to its trust domain.</summary>
    public static string KeyContext(string trustDomain) => "ca:" + trustDomain;

    /// <summary>Associated data of a JWT-SVID signing key: never interchangeable with a root key.</summary>
    public static string JwtKeyContext(string trustDomain) => "ca-jwt:" + trustDomain;

    protected abstract Task<string?> ReadAsync(string trustDomain, CancellationToken cancellationToken);

    protected abstract Task TryCreateAsync(string trustDomain, string json, CancellationToken cancellationToken);

    protected abstract Task<bool> TryReplaceAsync(string trustDomain, string expected, string json, CancellationToken cancellationToken);

    private CaSet Remember(CaSet set) =>
        _loaded.AddOrUpdate(set.TrustDomain, set, (_, cached) => cached.Sequence > set.Sequence ? cached : set);

    private string Serialize(CaSet set) => JsonSerializer.Serialize(new StoredCaSet
    {
        Sequence = set.Sequence,
        Roots = [.. set.Roots.Select(r => new StoredRoot
        {
            CertificatePem = r.CertificatePem,
            Key = protector.Encrypt(KeyContext(set.TrustDomain), r.PrivateKeyPem),
            State = r.State,
            CreatedAt = r.CreatedAt,
            RetireAfter = r.RetireAfter,
            MaxLeafExpiry = r.MaxLeafExpiry,
            JwtKey = r.JwtPrivateKeyPem is null ? null : protector.Encrypt(JwtKeyContext(set.TrustDomain), r.JwtPrivateKeyPem),
        })],
    }, CaJson.Default.StoredCaSet);

    private CaSet Deserialize(string trustDomain, string json)
    {
        var stored = JsonSerializer.Deserialize(json, CaJson.Default.StoredCaSet) ?? throw new InvalidOperationException("the stored CA is empty");
        // The first format (one root at the top level, before rotation existed) reads as a set of one.
        var roots = stored.Roots is { Count: > 0 }
            ? stored.Roots
            : [new StoredRoot { CertificatePem = stored.CertificatePem!, Key = stored.Key!, State = CaRootState.Active, CreatedAt = stored.CreatedAt ?? default }];
        return new CaSet(trustDomain, Math.Max(stored.Sequence, 1), [.. roots.Select(r => new CaRoot(
            r.CertificatePem, protector.Decrypt(KeyContext(trustDomain), r.Key), r.State, r.CreatedAt, r.RetireAfter, r.MaxLeafExpiry,
            r.JwtKey is null ? null : protector.Decrypt(JwtKeyContext(trustDomain), r.JwtKey)))]);
    }

    /// <summary>The stored form; never holds a key in clear.</summary>
    public sealed class StoredCaSet
    {
        public long Sequence { get; init; }
        public List<StoredRoot>? Roots { get; init; }

        // The first, single-root format.
        public string? CertificatePem { get; init; }
        public EncryptedValue? Key { get; init; }
        public DateTimeOffset? CreatedAt { get; init; }
    }

    public sealed class StoredRoot
    {
        public required string CertificatePem { get; init; }
        public required EncryptedValue Key { get; init; }
        public required CaRootState State { get; init; }
        public required DateTimeOffset CreatedAt { get; init; }
        public DateTimeOffset? RetireAfter { get; init; }
        public DateTimeOffset? MaxLeafExpiry { get; init; }
        public EncryptedValue? JwtKey { get; init; }

        public override string ToString() => $"StoredRoot({State}, keys=***)";
    }
}

public sealed class FileCaStore(string directory, LocalSecretProtector protector, TimeProvider time, TimeSpan? leafExpirySlack = null)
    : CaStore(protector, time, leafExpirySlack)
{
    // One writer at a time in this process; one silo per data directory in localhost mode.
    private readonly Lock _write = new();

    public string PathFor(string trustDomain) => Path.Combine(directory, $"ca-{trustDomain}.json");

    protected override async Task<string?> ReadAsync(string trustDomain, CancellationToken cancellationToken)
    {
        var path = PathFor(trustDomain);
        return File.Exists(path) ? await File.ReadAllTextAsync(path, cancellationToken) : null;
    }

    protected override Task TryCreateAsync(string trustDomain, string json, CancellationToken cancellationToken)
    {
        PrivateFile.TryCreate(PathFor(trustDomain), json);
        return Task.CompletedTask;
    }

    protected override Task<bool> TryReplaceAsync(string trustDomain, string expected, string json, CancellationToken cancellationToken)
    {
        lock (_write)
        {
            var path = PathFor(trustDomain);
            if (!File.Exists(path) || File.ReadAllText(path) != expected)
            {
                return Task.FromResult(false);
            }
            PrivateFile.Replace(path, json);
            return Task.FromResult(true);
        }
    }
}

internal sealed class RedisCaStore(IConnectionMultiplexer redis, IConfiguration configuration, LocalSecretProtector protector, TimeProvider time)
    : CaStore(protector, time, configuration.GetValue<TimeSpan?>("Fabric:Ca:LeafExpirySlack"))
{
    private const string CompareAndSwap = """
        if redis.call('GET', KEYS[1]) == ARGV[1] then
            redis.call('SET', KEYS[1], ARGV[2])
            return 1
        end
        return 0
        """;

    private readonly string _serviceId = ClusterSettings.Read(configuration).ServiceId;

    private RedisKey KeyFor(string trustDomain) => $"fabric:{_serviceId}:ca:{trustDomain}";

    protected override async Task<string?> ReadAsync(string trustDomain, CancellationToken cancellationToken)
    {
        var value = await redis.GetDatabase().StringGetAsync(KeyFor(trustDomain));
        return value.IsNullOrEmpty ? null : value.ToString();
    }

    protected override Task TryCreateAsync(string trustDomain, string json, CancellationToken cancellationToken) =>
        redis.GetDatabase().StringSetAsync(KeyFor(trustDomain), json, when: When.NotExists);

    protected override async Task<bool> TryReplaceAsync(string trustDomain, string expected, string json, CancellationToken cancellationToken) =>
        (int)await redis.GetDatabase().ScriptEvaluateAsync(CompareAndSwap, [KeyFor(trustDomain)], [expected, json]) == 1;
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
                FabricDataDirectory.Resolve(configuration), sp.GetRequiredService<LocalSecretProtector>(), sp.GetRequiredService<TimeProvider>(),
                configuration.GetValue<TimeSpan?>("Fabric:Ca:LeafExpirySlack")));
        }
        return services;
    }
}

[JsonSerializable(typeof(CaStore.StoredCaSet))]
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    UseStringEnumConverter = true)]
internal sealed partial class CaJson : JsonSerializerContext;
