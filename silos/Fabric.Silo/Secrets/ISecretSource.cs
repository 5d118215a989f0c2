using Fabric.Contracts.Servers;

namespace Fabric.Silo.Secrets;

/// <summary>
/// One place secrets come from (<c>local</c>, <c>vault-kv</c>, <c>vault-dynamic</c>,
/// <c>azure-keyvault</c>). Lease grains drive it: fetch on demand, renew renewable leases before they
/// end, revoke when the binding, server, grant or workload goes away. Implementations never log or
/// put a secret value into an exception message.
/// </summary>
public interface ISecretSource
{
    /// <summary>The binding <c>source</c> this implementation serves.</summary>
    string Source { get; }

    /// <summary>A fresh secret for the binding: a new lease for dynamic engines, the current value otherwise.</summary>
    /// <exception cref="SecretSourceException">The source refused or could not be reached.</exception>
    Task<SourcedSecret> FetchAsync(CredentialBinding binding, CancellationToken cancellationToken);

    /// <summary>Extends a renewable lease and returns it with its new expiry.</summary>
    /// <exception cref="SecretSourceException">The lease cannot be renewed (gone, not renewable, source down).</exception>
    Task<SourcedSecret> RenewAsync(SourcedSecret secret, CancellationToken cancellationToken);

    /// <summary>Ends a lease at the source. Sources without leases do nothing.</summary>
    Task RevokeAsync(SourcedSecret secret, CancellationToken cancellationToken);

    /// <summary>Whether the source is reachable and usable (drives readiness and the API's health).</summary>
    Task<SecretSourceHealth> CheckHealthAsync(CancellationToken cancellationToken);
}

/// <summary>A secret as a source returned it. <see cref="ToString"/> never shows the value.</summary>
public sealed class SourcedSecret
{
    /// <summary>The secret value. Memory only; never logged, audited or returned by the API.</summary>
    public required string Value { get; init; }

    /// <summary>The source's own lease id (Vault <c>lease_id</c>), when the source leases.</summary>
    public string? SourceLeaseId { get; init; }

    /// <summary>When the value stops being valid (lease end, KV refresh time, Key Vault <c>exp</c>); null = no end.</summary>
    public DateTimeOffset? ExpiresAt { get; init; }

    /// <summary>Whether <see cref="ISecretSource.RenewAsync"/> may extend it.</summary>
    public bool Renewable { get; init; }

    /// <summary>The lease duration the source granted (Vault <c>lease_duration</c>).</summary>
    public TimeSpan? LeaseDuration { get; init; }

    /// <summary>The source's version of the value (KV v2 version, Key Vault version), for audit and rotation.</summary>
    public string? Version { get; init; }

    public override string ToString() =>
        $"SourcedSecret(lease={SourceLeaseId ?? "-"}, version={Version ?? "-"}, expires={ExpiresAt?.ToString("O") ?? "-"}, renewable={Renewable}, value=***)";
}

/// <summary>Why a source failed. <see cref="SecretSourceError"/> decides what the lease grain does next.</summary>
public sealed class SecretSourceException(SecretSourceError error, string message, Exception? inner = null) : Exception(message, inner)
{
    public SecretSourceError Error { get; } = error;
}

public enum SecretSourceError
{
    /// <summary>The secret, version, field or lease does not exist (or was deleted/destroyed).</summary>
    NotFound,
    /// <summary>The source refused the fabric's own credentials (403, bad AppRole).</summary>
    Forbidden,
    /// <summary>The request was wrong for the source (400), e.g. renewing a non-renewable lease.</summary>
    InvalidRequest,
    /// <summary>The source is down, sealed, rate limiting or unreachable after retries.</summary>
    Unavailable,
    /// <summary>The secret exists but may not be used now (disabled, before nbf, after exp).</summary>
    NotUsable,
}

public sealed record SecretSourceHealth(string Source, bool Healthy, string? Detail);
