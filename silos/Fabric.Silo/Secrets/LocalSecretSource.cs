using Fabric.Contracts.Servers;

namespace Fabric.Silo.Secrets;

/// <summary>
/// The embedded default source: a secret of the local encrypted store (<see cref="SecretStoreGrain"/>).
/// No leases at the source; a "lease" is the current revision, re-read every
/// <see cref="LeaseOptions.LocalRefresh"/> and at once when the secret changes.
/// </summary>
public sealed class LocalSecretSource(IGrainFactory grains, TimeProvider time, Microsoft.Extensions.Options.IOptions<LeaseOptions> options) : ISecretSource
{
    public string Source => CredentialSources.Local;

    public async Task<SourcedSecret> FetchAsync(CredentialBinding binding, CancellationToken cancellationToken)
    {
        if (binding.Ref is not { } name)
        {
            throw new SecretSourceException(SecretSourceError.InvalidRequest, "a local binding needs 'ref'");
        }
        return Lease(name, await grains.LocalSecrets().RevealAsync(name));
    }

    /// <summary>
    /// The "lease" of a revealed value: the current revision until the next refresh. Also used when a
    /// change to the store hands its new value to the leases built on it.
    /// </summary>
    /// <exception cref="SecretSourceException">The secret does not exist (<paramref name="secret"/> is null).</exception>
    public SourcedSecret Lease(string name, SecretReveal? secret)
    {
        if (secret is null)
        {
            throw new SecretSourceException(SecretSourceError.NotFound, $"secret '{name}' does not exist in the local store");
        }
        return new SourcedSecret
        {
            Value = secret.Value,
            Version = secret.Revision.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ExpiresAt = time.GetUtcNow() + options.Value.LocalRefresh,
        };
    }

    public Task<SourcedSecret> RenewAsync(SourcedSecret secret, CancellationToken cancellationToken) =>
        throw new SecretSourceException(SecretSourceError.InvalidRequest, "local secrets are not renewable");

    public Task RevokeAsync(SourcedSecret secret, CancellationToken cancellationToken) => Task.CompletedTask;

    public Task<SecretSourceHealth> CheckHealthAsync(CancellationToken cancellationToken) =>
        Task.FromResult(new SecretSourceHealth(Source, true, null));
}
