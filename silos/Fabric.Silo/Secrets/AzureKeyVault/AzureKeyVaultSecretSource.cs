using System.Text.Json;
using System.Text.RegularExpressions;
using Azure;
using Azure.Identity;
using Azure.Security.KeyVault.Secrets;
using Fabric.Contracts.Servers;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Fabric.Silo.Secrets.AzureKeyVault;

/// <summary>
/// The <c>azure-keyvault</c> source: Get Secret (<c>GET {vault}/secrets/{name}/{version?}</c>) through the
/// real <see cref="SecretClient"/>, authenticated by Azure.Identity.
/// <code>
///   binding {name, version?} ─► SecretClient.GetSecretAsync ─► 401 challenge ─► token ─► SecretBundle
///                                                                                 │
///   SourcedSecret ◄─ ExpiresAt = min(now + RefreshInterval, exp) ◄─ enabled / nbf / exp checks
/// </code>
/// Key Vault has no leases: a value is trusted until <see cref="AzureKeyVaultOptions.RefreshInterval"/>
/// has passed (or the secret's own <c>exp</c>, if sooner), then the lease grain fetches again, which is
/// how a rotated secret reaches the edges. Nothing is renewable and revoking does nothing at the vault.
/// </summary>
public sealed partial class AzureKeyVaultSecretSource : ISecretSource
{
    /// <summary>
    /// The name the health probe asks for. It is not expected to exist: a 404 <c>SecretNotFound</c> proves the
    /// vault is reachable and accepted the silo's token, with the same <c>secrets/get</c> permission fetching
    /// needs (listing would need <c>secrets/list</c>, which a least-privilege identity does not have).
    /// </summary>
    public const string HealthProbeSecretName = "fabric-health-probe";

    /// <summary>Bounds one whole call, retries included: a throttling <c>Retry-After</c> can exceed the SDK's own back-off.</summary>
    public static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(30);

    private readonly SecretClient _client;
    private readonly AzureKeyVaultOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    /// <summary>Production: the client is built from the (validated) options and their credential.</summary>
    public AzureKeyVaultSecretSource(IOptions<AzureKeyVaultOptions> options, TimeProvider time, ILogger<AzureKeyVaultSecretSource> logger)
        : this(AzureKeyVaultClientFactory.CreateClient(Value(options)), Value(options), time, logger)
    {
    }

    /// <summary>Tests and custom hosting: a client configured elsewhere (transport, challenge verification).</summary>
    public AzureKeyVaultSecretSource(SecretClient client, AzureKeyVaultOptions options, TimeProvider time, ILogger<AzureKeyVaultSecretSource> logger)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(logger);
        _client = client;
        _options = options;
        _time = time;
        _logger = logger;
        AzureKeyVaultLog.Configured(_logger, client.VaultUri, options.Credential, options.RefreshInterval);
    }

    public string Source => CredentialSources.AzureKeyVault;

    public async Task<SourcedSecret> FetchAsync(CredentialBinding binding, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(binding);
        var (name, version) = ReadReference(binding);

        var secret = await CallAsync(name, (client, token) => client.GetSecretAsync(name, version, token), cancellationToken);
        var properties = secret.Properties;
        var now = _time.GetUtcNow();

        // Key Vault itself refuses a disabled secret (403 SecretDisabled, mapped in Fail) but hands out
        // values before nbf and after exp: those attributes are for the reader to honour.
        var unusable =
            properties.Enabled == false ? "secret is disabled"
            : properties.NotBefore is { } notBefore && notBefore > now ? $"secret is not valid before {notBefore:O}"
            : properties.ExpiresOn is { } expires && expires <= now ? $"secret expired at {expires:O}"
            : secret.Value is null ? "secret has no value"
            : null;
        if (unusable is not null)
        {
            AzureKeyVaultLog.NotUsable(_logger, name, properties.Version, unusable);
            throw new SecretSourceException(SecretSourceError.NotUsable, $"Key Vault secret '{name}': {unusable}");
        }

        var expiresAt = now + _options.RefreshInterval;
        if (properties.ExpiresOn is { } exp && exp < expiresAt)
        {
            expiresAt = exp;
        }
        AzureKeyVaultLog.Fetched(_logger, name, properties.Version, expiresAt);
        return new SourcedSecret
        {
            Value = secret.Value!,
            Version = properties.Version,
            ExpiresAt = expiresAt,
            Renewable = false,
        };
    }

    /// <summary>Key Vault values carry no lease to extend: the lease grain fetches again instead.</summary>
    public Task<SourcedSecret> RenewAsync(SourcedSecret secret, CancellationToken cancellationToken) =>
        throw new SecretSourceException(SecretSourceError.InvalidRequest, "Key Vault secrets are not renewable; fetch the secret again");

    /// <summary>Nothing to end at the vault: revoking a Key Vault credential only drops the cached value (done by the grain).</summary>
    public Task RevokeAsync(SourcedSecret secret, CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task<SecretSourceHealth> CheckHealthAsync(CancellationToken cancellationToken)
    {
        try
        {
            // A 200 (someone created the probe name) proves the same; the value is dropped unread.
            await CallAsync(HealthProbeSecretName, (client, token) => client.GetSecretAsync(HealthProbeSecretName, null, token), cancellationToken);
            return new SecretSourceHealth(Source, true, $"{_client.VaultUri} reachable");
        }
        catch (SecretSourceException e) when (e.Error is SecretSourceError.NotFound or SecretSourceError.NotUsable)
        {
            return new SecretSourceHealth(Source, true, $"{_client.VaultUri} reachable");
        }
        catch (SecretSourceException e)
        {
            AzureKeyVaultLog.Unhealthy(_logger, e.Message);
            return new SecretSourceHealth(Source, false, e.Message);
        }
    }

    private async Task<KeyVaultSecret> CallAsync(
        string name, Func<SecretClient, CancellationToken, Task<Response<KeyVaultSecret>>> call, CancellationToken cancellationToken)
    {
        using var timeout = new CancellationTokenSource(CallTimeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            return (await call(_client, linked.Token)).Value;
        }
        catch (RequestFailedException e)
        {
            throw Fail(name, e, e);
        }
        catch (AggregateException e) when (!cancellationToken.IsCancellationRequested)
        {
            // Azure.Core's RetryPolicy gives up on transport failures (connection refused, reset, network
            // timeout) by throwing every try's exception together: the source is unreachable.
            if (e.InnerExceptions[^1] is RequestFailedException last)
            {
                throw Fail(name, last, e);
            }
            AzureKeyVaultLog.RequestFailed(_logger, name, SecretSourceError.Unavailable, 0, null);
            throw new SecretSourceException(SecretSourceError.Unavailable, $"Key Vault secret '{name}' could not be read: Key Vault is unreachable", e);
        }
        catch (AuthenticationFailedException e)
        {
            // The silo's own identity could not get a token (bad client secret, missing federated token,
            // no managed identity): the source refuses the fabric's credentials before Key Vault sees them.
            AzureKeyVaultLog.AuthenticationFailed(_logger, e.GetType().Name);
            throw new SecretSourceException(SecretSourceError.Forbidden,
                $"could not obtain a Microsoft Entra token for Key Vault ({_options.Credential} credential)", e);
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            // Our CallTimeout, or the SDK's NetworkTimeout on the last try.
            AzureKeyVaultLog.TimedOut(_logger, name, CallTimeout);
            throw new SecretSourceException(SecretSourceError.Unavailable, $"Key Vault did not answer for secret '{name}' in time", e);
        }
    }

    /// <summary>
    /// Maps a Key Vault error (REST "Azure Key Vault REST API Error Codes"): 404 → NotFound;
    /// 403 <c>SecretDisabled</c> → NotUsable; 401/403 → Forbidden; 400 → InvalidRequest;
    /// 408/429/5xx and transport failures (status 0) after the SDK's retries → Unavailable.
    /// The message names the secret and the status, never a value (error bodies carry none).
    /// </summary>
    private SecretSourceException Fail(string name, RequestFailedException e, Exception thrown)
    {
        var error = e.Status switch
        {
            404 => SecretSourceError.NotFound,
            403 when InnerErrorCode(e) == "SecretDisabled" => SecretSourceError.NotUsable,
            401 or 403 => SecretSourceError.Forbidden,
            400 => SecretSourceError.InvalidRequest,
            _ => SecretSourceError.Unavailable,
        };
        AzureKeyVaultLog.RequestFailed(_logger, name, error, e.Status, e.ErrorCode);
        var what = error switch
        {
            SecretSourceError.NotFound => "was not found",
            SecretSourceError.NotUsable => "is disabled",
            SecretSourceError.Forbidden => "may not be read with the silo's identity",
            SecretSourceError.InvalidRequest => "was requested wrongly",
            _ => e.Status == 0 ? "could not be read: Key Vault is unreachable" : "could not be read: Key Vault is unavailable or throttling",
        };
        var status = e.Status == 0 ? "no response" : $"HTTP {e.Status}{(e.ErrorCode is null ? "" : $" {e.ErrorCode}")}";
        return new SecretSourceException(error, $"Key Vault secret '{name}' {what} ({status})", thrown);
    }

    private static string? InnerErrorCode(RequestFailedException e)
    {
        try
        {
            if (e.GetRawResponse()?.Content is not { } content || content.ToMemory().IsEmpty)
            {
                return null;
            }
            using var body = JsonDocument.Parse(content.ToMemory());
            if (body.RootElement.ValueKind == JsonValueKind.Object
                && body.RootElement.TryGetProperty("error", out var err) && err.ValueKind == JsonValueKind.Object)
            {
                foreach (var property in err.EnumerateObject())
                {
                    if (property.NameEquals("innererror") || property.NameEquals("innerError"))
                    {
                        return property.Value.ValueKind == JsonValueKind.Object && property.Value.TryGetProperty("code", out var code)
                            ? code.GetString()
                            : null;
                    }
                }
            }
            return null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>Secret names: 1–127 letters, digits and dashes; versions: letters and digits (32 hex in practice).</summary>
    private static (string Name, string? Version) ReadReference(CredentialBinding binding)
    {
        if (binding.Source != CredentialSources.AzureKeyVault)
        {
            throw new SecretSourceException(SecretSourceError.InvalidRequest, $"binding source '{binding.Source}' is not '{CredentialSources.AzureKeyVault}'");
        }
        if (string.IsNullOrEmpty(binding.Name) || !SecretName().IsMatch(binding.Name))
        {
            throw new SecretSourceException(SecretSourceError.InvalidRequest,
                "an azure-keyvault binding needs 'name': 1-127 letters, digits and dashes");
        }
        var version = string.IsNullOrEmpty(binding.Version) ? null : binding.Version;
        if (version is not null && !SecretVersion().IsMatch(version))
        {
            throw new SecretSourceException(SecretSourceError.InvalidRequest,
                $"azure-keyvault binding '{binding.Name}': 'version' must be letters and digits");
        }
        return (binding.Name, version);
    }

    private static AzureKeyVaultOptions Value(IOptions<AzureKeyVaultOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options.Value;
    }

    [GeneratedRegex("^[0-9A-Za-z-]{1,127}$")]
    private static partial Regex SecretName();

    [GeneratedRegex("^[0-9A-Za-z]{1,64}$")]
    private static partial Regex SecretVersion();
}
