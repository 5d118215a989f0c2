using Fabric.Contracts.Servers;

namespace Fabric.Contracts.Grains;

/// <summary>
/// The credential lease of one server (key "server") or of one server for one workload
/// (key "server|spiffe://…" when the binding says perWorkload). Fetches on demand, renews before
/// the lease ends, revokes when the binding, server, grant or workload goes away.
/// </summary>
[Alias("fabric.ICredentialLeaseGrain")]
public interface ICredentialLeaseGrain : IGrainWithStringKey
{
    [Alias("Get")]
    ValueTask<CredentialResult> GetAsync();

    /// <summary>Revokes the current lease at its source; the next <see cref="GetAsync"/> takes a new one.</summary>
    [Alias("Revoke")]
    ValueTask RevokeAsync();

    /// <summary>Takes a new lease now and revokes the old one.</summary>
    [Alias("Rotate")]
    ValueTask<LeaseStatus> RotateAsync();

    /// <summary>
    /// Rechecks that the lease is still wanted (binding, server, grant, workload, secret revision);
    /// revokes or replaces it if not. Returns whether the grain still holds a lease.
    /// </summary>
    [Alias("Reconcile")]
    ValueTask<bool> ReconcileAsync();

    /// <summary>The lease's state, never its value.</summary>
    [Alias("GetStatus")]
    ValueTask<LeaseStatus> GetStatusAsync();

    public static string KeyFor(string server, string? workload) =>
        workload is null ? server : server + "|" + workload;

    public static (string Server, string? Workload) ParseKey(string key)
    {
        var separator = key.IndexOf('|', StringComparison.Ordinal);
        return separator < 0 ? (key, null) : (key[..separator], key[(separator + 1)..]);
    }
}

/// <summary>What <c>GET /v1/servers/{name}/credential</c> shows of a lease: everything but the value.</summary>
[GenerateSerializer, Immutable, Alias("fabric.lease-status")]
public sealed record LeaseStatus(
    [property: Id(0)] string Key,
    [property: Id(1)] string? Source,
    [property: Id(2)] string? LeaseId,
    [property: Id(3)] DateTimeOffset? IssuedAt,
    [property: Id(4)] DateTimeOffset? ExpiresAt,
    [property: Id(5)] bool Renewable,
    [property: Id(6)] DateTimeOffset? LastRenewal,
    [property: Id(7)] string? LastError,
    [property: Id(8)] DateTimeOffset? LastErrorAt,
    [property: Id(9)] string? Workload,
    [property: Id(10)] string? Version);

/// <summary>
/// The active lease grains (key "default"), so that a change to a server, a workload, the policy
/// catalog or a secret reaches exactly the leases it may end.
/// </summary>
[Alias("fabric.ILeaseDirectoryGrain")]
public interface ILeaseDirectoryGrain : IGrainWithStringKey
{
    // One-way: a lease grain registers from inside its own calls, which a running reconcile
    // may be waiting on; an awaited call back into the directory would deadlock.
    /// <summary>
    /// Records a lease grain that holds a lease, with the local secret it was built on (null for the
    /// other sources), so a secret change reaches only the leases built on it.
    /// </summary>
    [Alias("Register"), OneWay]
    ValueTask RegisterAsync(string leaseKey, string? localSecret);

    [Alias("Unregister"), OneWay]
    ValueTask UnregisterAsync(string leaseKey);

    /// <summary>The lease keys of one server (its shared lease and every per-workload one).</summary>
    [Alias("ListForServer")]
    ValueTask<IReadOnlyList<string>> ListForServerAsync(string server);

    // Each returns the keys of the leases it asked to reconcile.

    /// <summary>A server or a workload changed: its leases (all when both filters are null).</summary>
    [Alias("Reconcile")]
    ValueTask<IReadOnlyList<string>> ReconcileAsync(string? server, string? workload);

    /// <summary>A grant changed: only per-workload leases depend on grants.</summary>
    [Alias("ReconcilePerWorkload")]
    ValueTask<IReadOnlyList<string>> ReconcilePerWorkloadAsync();

    /// <summary>A local secret changed: the leases built on it (and any registered before sources were recorded).</summary>
    [Alias("ReconcileLocalSecret")]
    ValueTask<IReadOnlyList<string>> ReconcileLocalSecretAsync(string name);
}

/// <summary>The local encrypted secret store (key "local"). Values go in, never come back out of the API.</summary>
[Alias("fabric.ISecretStoreGrain")]
public interface ISecretStoreGrain : IGrainWithStringKey
{
    [Alias("Put")]
    ValueTask PutAsync(string name, string value);

    [Alias("Delete")]
    ValueTask<bool> DeleteAsync(string name);

    [Alias("List")]
    ValueTask<IReadOnlyList<SecretInfo>> ListAsync();

    /// <summary>Decrypts one value for a lease grain. Cluster-internal; the API never calls it.</summary>
    // Interleaves: a lease reconcile started by this store's own change re-reads the value.
    [Alias("Reveal"), AlwaysInterleave]
    ValueTask<SecretReveal?> RevealAsync(string name);
}

[GenerateSerializer, Immutable, Alias("fabric.secret-info")]
public sealed record SecretInfo(
    [property: Id(0)] string Name,
    [property: Id(1)] DateTimeOffset CreatedAt,
    [property: Id(2)] DateTimeOffset UpdatedAt,
    [property: Id(3)] int Revision);

/// <summary>A decrypted value and its revision. <see cref="ToString"/> hides the value.</summary>
[GenerateSerializer, Immutable, Alias("fabric.secret-reveal")]
public sealed class SecretReveal
{
    [Id(0)] public required string Value { get; init; }
    [Id(1)] public required int Revision { get; init; }

    public override string ToString() => $"SecretReveal(revision={Revision}, value=***)";
}
