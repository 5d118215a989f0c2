using Fabric.Contracts.Servers;

namespace Fabric.Contracts.Grains;

/// <summary>
/// The credential lease of one server (key "server") or of one server for one workload
/// (key "server|spiffe://…" when the binding says perWorkload).
/// </summary>
[Alias("fabric.ICredentialLeaseGrain")]
public interface ICredentialLeaseGrain : IGrainWithStringKey
{
    [Alias("Get")]
    ValueTask<CredentialResult> GetAsync();

    /// <summary>Drops the current lease; the next <see cref="GetAsync"/> takes a new one.</summary>
    [Alias("Revoke")]
    ValueTask RevokeAsync();

    public static string KeyFor(string server, string? workload) =>
        workload is null ? server : server + "|" + workload;
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
    [Alias("Reveal")]
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
