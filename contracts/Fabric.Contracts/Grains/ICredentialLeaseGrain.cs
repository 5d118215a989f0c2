using Fabric.Contracts.Policy;
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
    /// Applies one change (new binding, grant, workload flag or local secret value, carried in
    /// <paramref name="change"/>): revokes the lease if the change ends it, replaces it if its secret
    /// changed. Reads nothing back from the grain that made the change. Returns whether the grain still
    /// holds a lease; a lease it ends here is dropped by the directory that asked, not unregistered.
    /// </summary>
    [Alias("ReconcileChange")]
    ValueTask<bool> ReconcileAsync(LeaseChange change);

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
    // One-way, and not because of a callback (a lease the directory is reconciling never calls it
    // back: ReconcileAsync neither registers nor unregisters). A lease registers and unregisters
    // from inside its own calls (an edge's GetAsync, RotateAsync, its renewal timer); the directory,
    // fanning a change out, may at that moment be waiting on that very lease, whose ReconcileAsync is
    // queued behind the call that is registering. Awaited, the two would wait on each other.
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

    // Each change carries its new value, so the leases never read it back from the grain that made
    // it (that grain is waiting on this call).

    /// <summary>A server changed: all its leases, given its new definition (null = deleted).</summary>
    [Alias("ReconcileServer")]
    ValueTask<IReadOnlyList<string>> ReconcileServerAsync(string server, McpServerDefinition? definition);

    /// <summary>A workload was enabled or disabled: its per-workload leases.</summary>
    [Alias("ReconcileWorkload")]
    ValueTask<IReadOnlyList<string>> ReconcileWorkloadAsync(string workload, bool enabled);

    /// <summary>
    /// The policy catalog changed to <paramref name="policies"/> at <paramref name="version"/>: only
    /// per-workload leases depend on grants; each is told whether its workload's grant still allows its server.
    /// </summary>
    [Alias("ReconcileCatalog")]
    ValueTask<IReadOnlyList<string>> ReconcileCatalogAsync(long version, IReadOnlyList<PolicyDocument> policies);

    /// <summary>
    /// A local secret changed to <paramref name="secret"/> (null = deleted): the leases built on it (and
    /// any registered before sources were recorded).
    /// </summary>
    [Alias("ReconcileLocalSecret")]
    ValueTask<IReadOnlyList<string>> ReconcileLocalSecretAsync(string name, SecretReveal? secret);
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

    /// <summary>
    /// Which of <paramref name="values"/> hold a stored secret (of 8 characters or more) anywhere in them: the
    /// registration check of a launched server's declared environment. The secrets never leave the grain.
    /// </summary>
    [Alias("FindHolding"), AlwaysInterleave]
    ValueTask<IReadOnlyList<string>> FindHoldingSecretAsync(IReadOnlyList<string> values);

    /// <summary>Decrypts one value for a lease grain. Cluster-internal; the API never calls it.</summary>
    // Interleaves, and not for a callback (a change's reconcile is handed the new value): a lease
    // grain reveals from its own calls (an edge's GetAsync, its renewal timer) and may be the very
    // lease that a Put or Delete here is waiting on through the lease directory. Without interleaving
    // the reveal would queue behind that Put, which waits on the lease: a deadlock. The read is
    // synchronous over state, so interleaving it is safe.
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
