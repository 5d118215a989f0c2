namespace Fabric.Silo.Secrets.Vault;

/// <summary>
/// How the silo reaches HashiCorp Vault (<c>Fabric:Secrets:Vault</c>). Checked when the host starts
/// (<see cref="VaultOptionsValidator"/>): a half-configured Vault stops the silo with a clear message
/// rather than failing on the first credential. <see cref="Token"/> and <see cref="SecretId"/> are
/// credentials: never logged, never echoed in a validation message.
/// </summary>
public sealed class VaultOptions
{
    public const string Section = "Fabric:Secrets:Vault";

    public const string TokenAuth = "token";
    public const string AppRoleAuth = "approle";

    /// <summary>The Vault server, e.g. <c>https://vault.internal:8200</c>. https, or http only on loopback.</summary>
    public string? Address { get; set; }

    /// <summary>Vault Enterprise namespace, sent as <c>X-Vault-Namespace</c> on every request when set.</summary>
    public string? Namespace { get; set; }

    /// <summary><c>token</c> (a token from configuration) or <c>approle</c> (log in with <see cref="RoleId"/>/<see cref="SecretId"/>).</summary>
    public string Auth { get; set; } = TokenAuth;

    /// <summary>The Vault token for <c>token</c> auth.</summary>
    public string? Token { get; set; }

    /// <summary>AppRole role_id for <c>approle</c> auth.</summary>
    public string? RoleId { get; set; }

    /// <summary>AppRole secret_id for <c>approle</c> auth.</summary>
    public string? SecretId { get; set; }

    /// <summary>Where the AppRole auth method is mounted (<c>auth/&lt;MountPath&gt;/login</c>).</summary>
    public string MountPath { get; set; } = "approle";

    /// <summary>
    /// A PEM bundle of the CAs trusted for the Vault server's certificate. When set it replaces the
    /// system store (as the official client's <c>VAULT_CACERT</c> does): a private Vault CA should
    /// not widen, or be widened by, the public WebPKI.
    /// </summary>
    public string? CaFile { get; set; }

    /// <summary>KV has no lease: a KV value (or a <c>vault-dynamic</c> read that came without a lease) is re-read this often.</summary>
    public TimeSpan KvRefreshInterval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Bound on one Vault call including its retries (the official client's default is 60 s).</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Retries after the first try (official client: <c>MaxRetries</c> 2, three tries in all).</summary>
    public int MaxRetries { get; set; } = 2;

    /// <summary>Linear jitter backoff lower bound (official client: 1000 ms).</summary>
    public TimeSpan MinRetryWait { get; set; } = TimeSpan.FromMilliseconds(1000);

    /// <summary>Linear jitter backoff upper bound (official client: 1500 ms).</summary>
    public TimeSpan MaxRetryWait { get; set; } = TimeSpan.FromMilliseconds(1500);

    /// <summary>A <c>Retry-After</c> longer than this is cut to it, so one rate-limited call cannot stall a lease grain for minutes.</summary>
    public TimeSpan MaxRetryAfter { get; set; } = TimeSpan.FromSeconds(30);

    internal bool UsesAppRole => string.Equals(Auth, AppRoleAuth, StringComparison.OrdinalIgnoreCase);
}
