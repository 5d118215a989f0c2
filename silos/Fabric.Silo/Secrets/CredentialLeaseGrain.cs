using Fabric.Contracts.Servers;

namespace Fabric.Silo.Secrets;

/// <summary>
/// The credential lease of one server, or of one server for one workload (key "server|spiffe://…").
/// For the <c>local</c> source a lease is the current revision of the referenced secret, rendered
/// into its header, valid for <see cref="LocalLeaseTtl"/>; a changed secret or binding starts a new
/// lease with a new id. Edges cache the credential no longer than the lease allows.
/// </summary>
public sealed class CredentialLeaseGrain(TimeProvider time) : Grain, ICredentialLeaseGrain
{
    public static readonly TimeSpan LocalLeaseTtl = TimeSpan.FromMinutes(15);
    /// <summary>A lease this close to its end is renewed rather than handed out.</summary>
    private static readonly TimeSpan RenewMargin = TimeSpan.FromMinutes(1);

    private Credential? _lease;
    private int _secretRevision;
    private long _serverRevision;

    public async ValueTask<CredentialResult> GetAsync()
    {
        var key = this.GetPrimaryKeyString();
        var separator = key.IndexOf('|', StringComparison.Ordinal);
        var server = separator < 0 ? key : key[..separator];

        var definition = await GrainFactory.Server(server).GetAsync();
        if (definition?.Credential is not { } binding)
        {
            _lease = null;
            return new CredentialResult(null, $"server '{server}' has no credential binding");
        }
        if (binding.Source != CredentialSources.Local)
        {
            return new CredentialResult(null, $"credential source '{binding.Source}' is not available");
        }
        var secret = binding.Ref is { } reference ? await GrainFactory.LocalSecrets().RevealAsync(reference) : null;
        if (secret is null)
        {
            _lease = null;
            return new CredentialResult(null, $"secret '{binding.Ref}' does not exist");
        }

        var now = time.GetUtcNow();
        if (_lease is null || _secretRevision != secret.Revision || _serverRevision != definition.Revision
            || _lease.ExpiresAt - now < RenewMargin)
        {
            _lease = new Credential
            {
                LeaseId = $"local/{server}/{Guid.NewGuid():N}",
                Source = binding.Source,
                HeaderName = binding.Inject.Header,
                HeaderValue = binding.Inject.Render(secret.Value),
                ExpiresAt = now + LocalLeaseTtl,
            };
            _secretRevision = secret.Revision;
            _serverRevision = definition.Revision;
        }
        return new CredentialResult(_lease, null);
    }

    public async ValueTask RevokeAsync()
    {
        _lease = null;
        await GrainFactory.Hub().PublishAsync(new Invalidation(InvalidationKind.Credential, this.GetPrimaryKeyString(), 0));
    }
}
