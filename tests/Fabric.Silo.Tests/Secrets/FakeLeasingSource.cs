using Fabric.Contracts.Servers;
using Fabric.Silo.Secrets;

namespace Fabric.Silo.Tests.Secrets;

/// <summary>
/// A hand-written leasing source (as "vault-dynamic") that counts what the lease grain asks of it
/// and can be told to fail. Values are unique per lease so a test can tell leases apart.
/// </summary>
public sealed class FakeLeasingSource(TimeProvider time) : ISecretSource
{
    private int _sequence;
    private readonly List<string> _revoked = [];
    private readonly Lock _lock = new();

    public string Source => CredentialSources.VaultDynamic;

    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromHours(1);
    public bool Renewable { get; set; } = true;
    public SecretSourceError? FailFetch { get; set; }
    public SecretSourceError? FailRenew { get; set; }
    private readonly Dictionary<string, int> _fetches = [];
    private readonly Dictionary<string, int> _renewals = [];

    /// <summary>Fetches for one binding path (tests give each server its own path: grain timers of other tests also run).</summary>
    public int FetchesOf(string path)
    {
        lock (_lock)
        {
            return _fetches.GetValueOrDefault(path);
        }
    }

    public int RenewalsOf(string path)
    {
        lock (_lock)
        {
            return _renewals.GetValueOrDefault(path);
        }
    }

    private void Count(Dictionary<string, int> counts, string path)
    {
        lock (_lock)
        {
            counts[path] = counts.GetValueOrDefault(path) + 1;
        }
    }

    public IReadOnlyList<string> Revoked
    {
        get
        {
            lock (_lock)
            {
                return [.. _revoked];
            }
        }
    }

    public Task<SourcedSecret> FetchAsync(CredentialBinding binding, CancellationToken cancellationToken)
    {
        Count(_fetches, binding.Path!);
        if (FailFetch is { } error)
        {
            throw new SecretSourceException(error, "fake source refuses: " + error);
        }
        var n = Interlocked.Increment(ref _sequence);
        return Task.FromResult(new SourcedSecret
        {
            Value = $"fake-secret-{n}-{Guid.NewGuid():N}",
            SourceLeaseId = $"{binding.Path}/lease-{n}",
            LeaseDuration = LeaseDuration,
            ExpiresAt = time.GetUtcNow() + LeaseDuration,
            Renewable = Renewable,
        });
    }

    public Task<SourcedSecret> RenewAsync(SourcedSecret secret, CancellationToken cancellationToken)
    {
        Count(_renewals, secret.SourceLeaseId![..secret.SourceLeaseId!.LastIndexOf('/')]);
        if (FailRenew is { } error)
        {
            throw new SecretSourceException(error, "fake source cannot renew: " + error);
        }
        return Task.FromResult(new SourcedSecret
        {
            Value = secret.Value,
            SourceLeaseId = secret.SourceLeaseId,
            LeaseDuration = LeaseDuration,
            ExpiresAt = time.GetUtcNow() + LeaseDuration,
            Renewable = true,
        });
    }

    public Task RevokeAsync(SourcedSecret secret, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            _revoked.Add(secret.SourceLeaseId!);
        }
        return Task.CompletedTask;
    }

    public Task<SecretSourceHealth> CheckHealthAsync(CancellationToken cancellationToken) =>
        Task.FromResult(new SecretSourceHealth(Source, FailFetch is null, FailFetch?.ToString()));
}
