using Fabric.Contracts.Servers;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Fabric.Silo.Secrets.Vault;

/// <summary>
/// <c>vault-dynamic</c>: a leasing secrets engine read with <c>GET /v1/&lt;path&gt;</c>
/// (<c>{ "path": "database/creds/readonly", "field": "password" }</c>). Every fetch is a new lease;
/// <see cref="RenewAsync"/> extends it through <c>sys/leases/renew</c>, <see cref="RevokeAsync"/>
/// ends it through <c>sys/leases/revoke</c>. A path that answers without a lease is treated like KV
/// (valid for <see cref="VaultOptions.KvRefreshInterval"/> at most, not renewable).
/// </summary>
public sealed class VaultDynamicSecretSource(
    VaultClient vault, IOptions<VaultOptions> options, TimeProvider time, ILogger<VaultDynamicSecretSource> logger) : ISecretSource
{
    private readonly TimeSpan _refresh = options.Value.KvRefreshInterval;

    public string Source => CredentialSources.VaultDynamic;

    public async Task<SourcedSecret> FetchAsync(CredentialBinding binding, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(binding);
        if (string.IsNullOrWhiteSpace(binding.Path) || string.IsNullOrWhiteSpace(binding.Field))
        {
            throw new SecretSourceException(SecretSourceError.InvalidRequest, "a vault-dynamic binding needs 'path' and 'field'");
        }

        var lease = await vault.ReadAsync(binding.Path, cancellationToken);
        string value;
        try
        {
            value = VaultFields.Read(lease.Data, binding.Field, $"Vault {binding.Path}");
        }
        catch (SecretSourceException e) when (lease.LeaseId is { } leaseId)
        {
            // The engine created something (a database user, say) the fabric cannot use: end it now
            // rather than leave it alive until its TTL.
            VaultLog.LeaseUnusable(logger, leaseId, binding.Path, e.Message);
            await TryRevokeAsync(leaseId, cancellationToken);
            throw;
        }

        // Without a lease id (a KV v1 path, say) lease_duration is only a refresh hint — 768 h for KV v1:
        // such a value is re-read like KV, at the latest after KvRefreshInterval.
        var duration = lease.LeaseId is null || lease.LeaseDuration <= TimeSpan.Zero
            ? (lease.LeaseDuration > TimeSpan.Zero && lease.LeaseDuration < _refresh ? lease.LeaseDuration : _refresh)
            : lease.LeaseDuration;
        return new SourcedSecret
        {
            Value = value,
            SourceLeaseId = lease.LeaseId,
            LeaseDuration = duration,
            ExpiresAt = time.GetUtcNow() + duration,
            Renewable = lease.Renewable && lease.LeaseId is not null,
        };
    }

    public async Task<SourcedSecret> RenewAsync(SourcedSecret secret, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(secret);
        if (secret.SourceLeaseId is not { Length: > 0 } leaseId)
        {
            throw new SecretSourceException(SecretSourceError.InvalidRequest, "this vault-dynamic secret has no lease to renew");
        }
        // No increment: Vault extends by the role's default TTL, capped at its max TTL. The answer says what was granted.
        var renewal = await vault.RenewLeaseAsync(leaseId, increment: null, cancellationToken);
        return new SourcedSecret
        {
            Value = secret.Value,
            SourceLeaseId = renewal.LeaseId,
            LeaseDuration = renewal.LeaseDuration,
            ExpiresAt = time.GetUtcNow() + renewal.LeaseDuration,
            Renewable = renewal.Renewable,
            Version = secret.Version,
        };
    }

    public Task RevokeAsync(SourcedSecret secret, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(secret);
        return secret.SourceLeaseId is { Length: > 0 } leaseId
            ? vault.RevokeLeaseAsync(leaseId, cancellationToken)
            : Task.CompletedTask;
    }

    public Task<SecretSourceHealth> CheckHealthAsync(CancellationToken cancellationToken) =>
        VaultFields.HealthAsync(vault, Source, cancellationToken);

    private async Task TryRevokeAsync(string leaseId, CancellationToken cancellationToken)
    {
        try
        {
            await vault.RevokeLeaseAsync(leaseId, cancellationToken);
        }
        catch (SecretSourceException e)
        {
            VaultLog.LeaseRevokeFailed(logger, leaseId, e.Error, e.Message);
        }
    }
}
