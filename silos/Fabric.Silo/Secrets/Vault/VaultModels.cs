using System.Text.Json;

namespace Fabric.Silo.Secrets.Vault;

/// <summary>
/// The key/value map a Vault secret carries (<c>data.data</c> of KV v2, <c>data</c> of a dynamic
/// engine). Values are secrets: <see cref="ToString"/> names how many fields there are, nothing else.
/// </summary>
public sealed class VaultSecretData
{
    private readonly Dictionary<string, JsonElement> _fields;

    internal VaultSecretData(JsonElement data)
    {
        _fields = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        if (data.ValueKind == JsonValueKind.Object)
        {
            foreach (var property in data.EnumerateObject())
            {
                _fields[property.Name] = property.Value.Clone();
            }
        }
    }

    public int Count => _fields.Count;

    public IEnumerable<string> Keys => _fields.Keys;

    public bool TryGetValue(string field, out JsonElement value) => _fields.TryGetValue(field, out value);

    /// <summary>
    /// The field as text: a string as is, a number or boolean as its JSON literal. Null, objects and
    /// arrays are not usable as a header value; <paramref name="kind"/> says which it was.
    /// </summary>
    public bool TryGetText(string field, [NotNullWhen(true)] out string? text, out JsonValueKind kind)
    {
        text = null;
        if (!_fields.TryGetValue(field, out var value))
        {
            kind = JsonValueKind.Undefined;
            return false;
        }
        kind = value.ValueKind;
        text = kind switch
        {
            JsonValueKind.String => value.GetString(),
            JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False => value.GetRawText(),
            _ => null,
        };
        return text is not null;
    }

    public override string ToString() => $"VaultSecretData({Count} fields, values=***)";
}

/// <summary>KV v2 version metadata (<c>data.metadata</c> of a read).</summary>
public sealed record VaultKvMetadata(
    int Version,
    DateTimeOffset? CreatedTime,
    DateTimeOffset? DeletionTime,
    bool Destroyed,
    IReadOnlyDictionary<string, string>? CustomMetadata);

/// <summary>A KV v2 read: the version's data and its metadata.</summary>
public sealed class VaultKvSecret(VaultSecretData data, VaultKvMetadata metadata)
{
    public VaultSecretData Data { get; } = data;

    public VaultKvMetadata Metadata { get; } = metadata;

    public override string ToString() => $"VaultKvSecret(version={Metadata.Version}, {Data})";
}

/// <summary>A read from a leasing engine (<c>database/creds/&lt;role&gt;</c>, …).</summary>
public sealed class VaultLeasedSecret(string? leaseId, TimeSpan leaseDuration, bool renewable, VaultSecretData data)
{
    /// <summary>Vault's <c>lease_id</c>; null when the engine returned none.</summary>
    public string? LeaseId { get; } = leaseId;

    public TimeSpan LeaseDuration { get; } = leaseDuration;

    public bool Renewable { get; } = renewable;

    public VaultSecretData Data { get; } = data;

    public override string ToString() => $"VaultLeasedSecret(lease={LeaseId ?? "-"}, duration={LeaseDuration}, renewable={Renewable}, {Data})";
}

/// <summary>The answer of <c>sys/leases/renew</c>.</summary>
public sealed record VaultLeaseRenewal(string LeaseId, TimeSpan LeaseDuration, bool Renewable);

/// <summary>
/// The <c>auth</c> block of a login or <c>renew-self</c>. The client token itself stays inside
/// <see cref="VaultClient"/>: it is not part of this type's public surface or its text.
/// </summary>
public sealed class VaultAuthToken
{
    internal VaultAuthToken(string clientToken, TimeSpan leaseDuration, bool renewable, IReadOnlyList<string> policies)
    {
        ClientToken = clientToken;
        LeaseDuration = leaseDuration;
        Renewable = renewable;
        Policies = policies;
    }

    internal string ClientToken { get; }

    /// <summary>The token's TTL; zero = it does not expire.</summary>
    public TimeSpan LeaseDuration { get; }

    public bool Renewable { get; }

    public IReadOnlyList<string> Policies { get; }

    public override string ToString() => $"VaultAuthToken(ttl={LeaseDuration}, renewable={Renewable}, policies=[{string.Join(",", Policies)}], token=***)";
}

/// <summary>What <c>auth/token/lookup-self</c> says about the client token (never the token).</summary>
public sealed record VaultTokenInfo(TimeSpan Ttl, bool Renewable, IReadOnlyList<string> Policies, DateTimeOffset? ExpireTime);

/// <summary>
/// A <c>sys/health</c> answer. Per developer.hashicorp.com/vault/api-docs/system/health: 200 active,
/// 429 unsealed standby, 472 DR secondary, 473 performance standby, 474 standby that cannot reach the
/// active node, 501 not initialized, 503 sealed, 530 removed from the cluster.
/// </summary>
public sealed record VaultHealth(int StatusCode, bool Healthy, string State, bool? Initialized, bool? Sealed, string? Version)
{
    internal static VaultHealth FromStatus(int status, bool? initialized, bool? @sealed, string? version) => status switch
    {
        200 => new(status, true, "active", initialized, @sealed, version),
        // Standbys forward requests to the active node; performance standbys serve reads themselves.
        429 => new(status, true, "standby", initialized, @sealed, version),
        473 => new(status, true, "performance standby", initialized, @sealed, version),
        // A DR secondary does not serve client requests until promoted.
        472 => new(status, false, "disaster-recovery secondary", initialized, @sealed, version),
        474 => new(status, false, "standby without a connection to the active node", initialized, @sealed, version),
        501 => new(status, false, "not initialized", initialized, @sealed, version),
        503 => new(status, false, "sealed", initialized, @sealed, version),
        530 => new(status, false, "removed from the cluster", initialized, @sealed, version),
        _ => new(status, false, $"unexpected health status {status}", initialized, @sealed, version),
    };
}
