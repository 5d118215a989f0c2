using System.Globalization;
using System.Text.Json;
using Fabric.Contracts.Servers;
using Microsoft.Extensions.Options;

namespace Fabric.Silo.Secrets.Vault;

/// <summary>
/// <c>vault-kv</c>: one <c>field</c> of a KV v2 secret (<c>{ "mount": "secret", "path": "mcp/github",
/// "field": "token", "version"?: "3" }</c>). KV has no lease, so the value is good for
/// <see cref="VaultOptions.KvRefreshInterval"/> and the lease grain reads it again after that;
/// there is nothing to renew or revoke.
/// </summary>
public sealed class VaultKvSecretSource(VaultClient vault, IOptions<VaultOptions> options, TimeProvider time) : ISecretSource
{
    private readonly TimeSpan _refresh = options.Value.KvRefreshInterval;

    public string Source => CredentialSources.VaultKv;

    public async Task<SourcedSecret> FetchAsync(CredentialBinding binding, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(binding);
        var mount = Required(binding.Mount, "mount");
        var path = Required(binding.Path, "path");
        var field = Required(binding.Field, "field");
        int? version = null;
        if (!string.IsNullOrWhiteSpace(binding.Version))
        {
            version = int.TryParse(binding.Version, NumberStyles.None, CultureInfo.InvariantCulture, out var v) && v > 0
                ? v
                : throw new SecretSourceException(SecretSourceError.InvalidRequest, $"vault-kv version '{binding.Version}' is not a positive integer");
        }

        var secret = await vault.ReadKvAsync(mount, path, version, cancellationToken);
        var value = VaultFields.Read(secret.Data, field, $"KV secret {mount}/{path} version {secret.Metadata.Version}");
        return new SourcedSecret
        {
            Value = value,
            Version = secret.Metadata.Version.ToString(CultureInfo.InvariantCulture),
            ExpiresAt = time.GetUtcNow() + _refresh,
            // No lease: the refresh interval stands in for one, so the lease grain re-reads in time.
            LeaseDuration = _refresh,
            Renewable = false,
        };
    }

    public Task<SourcedSecret> RenewAsync(SourcedSecret secret, CancellationToken cancellationToken) =>
        throw new SecretSourceException(SecretSourceError.InvalidRequest, "vault-kv values have no lease to renew; fetch the value again");

    public Task RevokeAsync(SourcedSecret secret, CancellationToken cancellationToken) => Task.CompletedTask;

    public Task<SecretSourceHealth> CheckHealthAsync(CancellationToken cancellationToken) =>
        VaultFields.HealthAsync(vault, Source, cancellationToken);

    private static string Required(string? value, string name) =>
        string.IsNullOrWhiteSpace(value)
            ? throw new SecretSourceException(SecretSourceError.InvalidRequest, $"a vault-kv binding needs '{name}'")
            : value;
}

/// <summary>What both Vault sources share: reading one field, and the health check.</summary>
internal static class VaultFields
{
    /// <summary>The field's text; a missing, null or non-scalar field is an error that names the field, never a value.</summary>
    public static string Read(VaultSecretData data, string field, string what)
    {
        if (data.TryGetText(field, out var text, out var kind))
        {
            return text;
        }
        throw kind switch
        {
            JsonValueKind.Undefined => new SecretSourceException(SecretSourceError.NotFound, $"{what} has no field '{field}'"),
            JsonValueKind.Null => new SecretSourceException(SecretSourceError.NotFound, $"{what}: field '{field}' is null"),
            _ => new SecretSourceException(SecretSourceError.InvalidRequest, $"{what}: field '{field}' is a JSON {kind.ToString().ToLowerInvariant()}, not a string"),
        };
    }

    public static async Task<SecretSourceHealth> HealthAsync(VaultClient vault, string source, CancellationToken cancellationToken)
    {
        try
        {
            var health = await vault.HealthAsync(cancellationToken);
            return new SecretSourceHealth(source, health.Healthy, $"Vault {health.State} ({health.StatusCode})");
        }
        catch (SecretSourceException e)
        {
            return new SecretSourceHealth(source, false, e.Message);
        }
    }
}
