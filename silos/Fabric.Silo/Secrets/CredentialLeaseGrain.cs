using Fabric.Contracts.Servers;
using Microsoft.Extensions.Options;

namespace Fabric.Silo.Secrets;

/// <summary>
/// The credential lease of one server, or of one server for one workload (key "server|spiffe://…").
/// <code>
///   GetAsync ─► binding still the same? ─no─► revoke, start over
///       │ yes
///       ├─ no lease ─► fetch (failing source: backoff, never a tight loop)
///       ├─ past 2/3 of its life ─► renew (renewable) │ else fetch a replacement, revoke the old one
///       └─ hand out the credential while the lease is valid; after its end: credential-unavailable
/// </code>
/// A grain timer does the same renewal ahead of demand. Changes elsewhere (server, binding, grant,
/// workload, local secret) reach the grain through <see cref="ReconcileAsync"/>; every lease that
/// ends or is replaced is pushed to the edges, which drop their cached copy.
/// </summary>
public sealed partial class CredentialLeaseGrain(
    SecretSourceRegistry sources,
    IOptions<LeaseOptions> options,
    TimeProvider time,
    ILogger<CredentialLeaseGrain> logger) : Grain, ICredentialLeaseGrain
{
    private sealed record ActiveLease(ISecretSource Source, CredentialBinding Binding, SourcedSecret Secret, long ServerRevision, string LeaseId, DateTimeOffset IssuedAt, Credential Credential);

    private ActiveLease? _active;
    private DateTimeOffset? _lastRenewal;
    private string? _lastError;
    private DateTimeOffset? _lastErrorAt;
    private DateTimeOffset _nextAttempt = DateTimeOffset.MinValue;
    private TimeSpan _backoff;
    private IGrainTimer? _timer;

    private string Key => this.GetPrimaryKeyString();

    private LeaseOptions Options => options.Value;

    public async ValueTask<CredentialResult> GetAsync()
    {
        var (definition, binding, error) = await ReadBindingAsync();
        if (binding is null)
        {
            await EndAsync(revoke: true);
            return new CredentialResult(null, error);
        }
        if (_active is { } active && active.ServerRevision != definition!.Revision)
        {
            // The binding changed: the old lease belongs to a configuration that no longer exists.
            await EndAsync(revoke: true);
        }
        await EnsureFreshAsync(binding, definition!.Revision);

        var now = time.GetUtcNow();
        return _active is { } current && current.Credential.ExpiresAt > now
            ? new CredentialResult(current.Credential, null)
            : new CredentialResult(null, _lastError ?? "no credential could be leased");
    }

    public async ValueTask RevokeAsync() => await EndAsync(revoke: true);

    public async ValueTask<LeaseStatus> RotateAsync()
    {
        var (definition, binding, error) = await ReadBindingAsync();
        if (binding is null)
        {
            await EndAsync(revoke: true);
            RecordError(error!);
            return Status();
        }
        if (sources.TryGet(binding.Source, out var source))
        {
            await ReplaceAsync(source, binding, definition!.Revision);
        }
        return Status();
    }

    public async ValueTask<bool> ReconcileAsync(LeaseChange change)
    {
        if (_active is not { } active)
        {
            return false;
        }
        // Only what the change carries is checked, against the binding the lease was built on: the
        // grain that made the change is waiting on this call, so nothing is read back from it.
        var ends = change.Kind switch
        {
            LeaseChangeKind.Server => Bind(change.Server).Binding is null || change.Server!.Revision != active.ServerRevision,
            // A per-workload lease lives only while its workload may still call the server.
            LeaseChangeKind.Workload or LeaseChangeKind.Grant => ICredentialLeaseGrain.ParseKey(Key).Workload is not null && !change.StillAllowed,
            _ => false,
        };
        if (ends)
        {
            LogEnded(logger, Key, active.LeaseId, "binding, grant or workload changed");
            await EndAsync(revoke: true, unregister: false);
            return false;
        }
        if (change is { Kind: LeaseChangeKind.LocalSecret, SecretName: { } name }
            && active.Binding.Source == CredentialSources.Local && active.Binding.Ref == name
            && active.Source is LocalSecretSource local)
        {
            // A local secret that changed is a new lease at once (it has no source lease to renew).
            try
            {
                var current = local.Lease(name, change.Secret);
                if (current.Version != active.Secret.Version)
                {
                    Swap(active.Source, active.Binding, active.ServerRevision, current);
                    await PublishAsync();
                }
            }
            catch (SecretSourceException ex)
            {
                RecordError(ex.Message);
                await EndAsync(revoke: false, unregister: false);
                return false;
            }
        }
        return true;
    }

    public ValueTask<LeaseStatus> GetStatusAsync() => ValueTask.FromResult(Status());

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        // A lease outlives nobody who could use it: end it at the source, bounded by the deactivation token.
        if (_active is { } active)
        {
            await RevokeAtSourceAsync(active, cancellationToken);
            _active = null;
        }
    }

    private async Task<(McpServerDefinition? Definition, CredentialBinding? Binding, string? Error)> ReadBindingAsync() =>
        Bind(await GrainFactory.UpstreamAsync(ICredentialLeaseGrain.ParseKey(Key).Server));

    private (McpServerDefinition? Definition, CredentialBinding? Binding, string? Error) Bind(McpServerDefinition? definition)
    {
        var (server, _) = ICredentialLeaseGrain.ParseKey(Key);
        if (definition is null)
        {
            return (null, null, $"server '{server}' does not exist");
        }
        if (definition.Credential is not { } binding)
        {
            return (definition, null, $"server '{server}' has no credential binding");
        }
        return sources.TryGet(binding.Source, out _)
            ? (definition, binding, null)
            : (definition, null, $"credential source '{binding.Source}' is not configured on this fabric");
    }

    private async Task EnsureFreshAsync(CredentialBinding binding, long revision)
    {
        if (!sources.TryGet(binding.Source, out var source))
        {
            return;
        }
        var now = time.GetUtcNow();
        if (_active is null)
        {
            if (now >= _nextAttempt)
            {
                await AcquireAsync(source, binding, revision);
            }
            return;
        }
        if (now >= RenewDue(_active) && now >= _nextAttempt)
        {
            await RenewOrReplaceAsync(_active, binding, revision);
        }
    }

    /// <summary>Fetches a lease and makes it current; false (and backoff) when the source fails.</summary>
    private async Task<bool> AcquireAsync(ISecretSource source, CredentialBinding binding, long revision)
    {
        try
        {
            var secret = await source.FetchAsync(binding, CancellationToken.None);
            Swap(source, binding, revision, secret);
            Succeeded();
            await GrainFactory.Leases().RegisterAsync(Key, binding.Source == CredentialSources.Local ? binding.Ref : null);
            return true;
        }
        catch (SecretSourceException ex)
        {
            Failed(ex);
            return false;
        }
    }

    private async Task RenewOrReplaceAsync(ActiveLease active, CredentialBinding binding, long revision)
    {
        if (active.Secret.Renewable)
        {
            try
            {
                var renewed = await active.Source.RenewAsync(active.Secret, CancellationToken.None);
                _active = active with
                {
                    Secret = renewed,
                    Credential = Render(active.LeaseId, active.Source.Source, binding, renewed),
                };
                _lastRenewal = time.GetUtcNow();
                Succeeded();
                ScheduleRenewal();
                return;
            }
            catch (SecretSourceException ex)
            {
                LogRenewFailed(logger, Key, active.LeaseId, ex.Error, ex.Message);
            }
        }
        await ReplaceAsync(active.Source, binding, revision);
    }

    /// <summary>Fetches a new lease, hands it out, then revokes the old one (after the edges dropped it).</summary>
    private async Task ReplaceAsync(ISecretSource source, CredentialBinding binding, long revision)
    {
        var old = _active;
        if (!await AcquireAsync(source, binding, revision))
        {
            // The old lease keeps serving until its own end; after that, credential-unavailable.
            return;
        }
        await PublishAsync();
        if (old is not null)
        {
            await RevokeAtSourceAsync(old, CancellationToken.None);
        }
    }

    private void Swap(ISecretSource source, CredentialBinding binding, long revision, SourcedSecret secret)
    {
        var leaseId = secret.SourceLeaseId is { Length: > 0 } sourceLease
            ? $"{source.Source}:{sourceLease}"
            : $"{source.Source}:{ICredentialLeaseGrain.ParseKey(Key).Server}/{Guid.NewGuid():N}";
        _active = new ActiveLease(source, binding, secret, revision, leaseId, time.GetUtcNow(), Render(leaseId, source.Source, binding, secret));
        LogLeased(logger, Key, leaseId, _active.Credential.ExpiresAt);
        ScheduleRenewal();
    }

    private Credential Render(string leaseId, string source, CredentialBinding binding, SourcedSecret secret) => new()
    {
        LeaseId = leaseId,
        Source = source,
        HeaderName = binding.Inject.Header,
        HeaderValue = binding.Inject.Render(secret.Value),
        ExpiresAt = secret.ExpiresAt ?? time.GetUtcNow() + Options.LocalRefresh,
    };

    private DateTimeOffset RenewDue(ActiveLease lease)
    {
        var lifetime = lease.Credential.ExpiresAt - lease.IssuedAt;
        return lease.IssuedAt + lifetime * Options.RenewAt;
    }

    private void ScheduleRenewal()
    {
        _timer?.Dispose();
        if (_active is not { } active)
        {
            return;
        }
        var due = RenewDue(active) - time.GetUtcNow();
        if (_nextAttempt > time.GetUtcNow())
        {
            due = _nextAttempt - time.GetUtcNow();
        }
        _timer = this.RegisterGrainTimer(OnTimerAsync, new GrainTimerCreationOptions
        {
            DueTime = due < TimeSpan.Zero ? TimeSpan.Zero : due,
            Period = Timeout.InfiniteTimeSpan,
            // A leased secret at a source keeps the grain alive so it is renewed, and revoked on deactivation.
            KeepAlive = true,
        });
    }

    private async Task OnTimerAsync(CancellationToken cancellationToken)
    {
        var (definition, binding, _) = await ReadBindingAsync();
        if (binding is null || definition is null || _active is null)
        {
            await EndAsync(revoke: true);
            return;
        }
        await EnsureFreshAsync(binding, definition.Revision);
        if (_active is not null && _timer is null)
        {
            ScheduleRenewal();
        }
    }

    /// <param name="unregister">
    /// False when the lease directory asked (it drops the key itself): calling it back from inside
    /// its own call would wait on it.
    /// </param>
    private async Task EndAsync(bool revoke, bool unregister = true)
    {
        _timer?.Dispose();
        _timer = null;
        if (_active is not { } active)
        {
            return;
        }
        _active = null;
        await PublishAsync();
        if (revoke)
        {
            await RevokeAtSourceAsync(active, CancellationToken.None);
        }
        if (unregister)
        {
            await GrainFactory.Leases().UnregisterAsync(Key);
        }
    }

    private async Task RevokeAtSourceAsync(ActiveLease lease, CancellationToken cancellationToken)
    {
        try
        {
            await lease.Source.RevokeAsync(lease.Secret, cancellationToken);
            LogRevoked(logger, Key, lease.LeaseId);
        }
        catch (Exception ex) when (ex is SecretSourceException or OperationCanceledException)
        {
            // The lease ends on its own at its expiry; record why it could not be ended early.
            RecordError($"revoking {lease.LeaseId} failed: {ex.Message}");
        }
    }

    private Task PublishAsync() =>
        GrainFactory.Hub().PublishAsync(new Invalidation(InvalidationKind.Credential, Key, 0)).AsTask();

    private void Succeeded()
    {
        _backoff = TimeSpan.Zero;
        _nextAttempt = DateTimeOffset.MinValue;
    }

    private void Failed(SecretSourceException ex)
    {
        RecordError(ex.Message);
        _backoff = _backoff == TimeSpan.Zero ? Options.RetryMin : TimeSpan.FromTicks(Math.Min(_backoff.Ticks * 2, Options.RetryMax.Ticks));
        _nextAttempt = time.GetUtcNow() + _backoff;
        LogFetchFailed(logger, Key, ex.Error, ex.Message, _backoff);
        if (_active is not null)
        {
            ScheduleRenewal();
        }
    }

    private void RecordError(string error)
    {
        _lastError = error;
        _lastErrorAt = time.GetUtcNow();
    }

    private LeaseStatus Status()
    {
        var (_, workload) = ICredentialLeaseGrain.ParseKey(Key);
        return new LeaseStatus(Key, _active?.Source.Source, _active?.LeaseId, _active?.IssuedAt, _active?.Credential.ExpiresAt,
            _active?.Secret.Renewable ?? false, _lastRenewal, _lastError, _lastErrorAt, workload, _active?.Secret.Version);
    }

    [LoggerMessage(EventId = 1201, Level = LogLevel.Information, Message = "Lease {Key}: {LeaseId} valid until {ExpiresAt:O}")]
    private static partial void LogLeased(ILogger logger, string key, string leaseId, DateTimeOffset expiresAt);

    [LoggerMessage(EventId = 1202, Level = LogLevel.Warning, Message = "Lease {Key}: renewing {LeaseId} failed ({Error}: {Message}); replacing it")]
    private static partial void LogRenewFailed(ILogger logger, string key, string leaseId, SecretSourceError error, string message);

    [LoggerMessage(EventId = 1203, Level = LogLevel.Warning, Message = "Lease {Key}: fetching failed ({Error}: {Message}); next attempt in {Backoff}")]
    private static partial void LogFetchFailed(ILogger logger, string key, SecretSourceError error, string message, TimeSpan backoff);

    [LoggerMessage(EventId = 1204, Level = LogLevel.Information, Message = "Lease {Key}: revoked {LeaseId} at its source")]
    private static partial void LogRevoked(ILogger logger, string key, string leaseId);

    [LoggerMessage(EventId = 1205, Level = LogLevel.Information, Message = "Lease {Key}: ending {LeaseId}: {Why}")]
    private static partial void LogEnded(ILogger logger, string key, string leaseId, string why);
}
