namespace Fabric.Silo.Secrets.AzureKeyVault;

/// <summary>
/// <c>Fabric:Secrets:AzureKeyVault</c>: which vault the <c>azure-keyvault</c> source reads and how the
/// silo authenticates to it (Microsoft Entra ID through Azure.Identity). The source is registered
/// only when <see cref="Uri"/> is set.
/// </summary>
public sealed class AzureKeyVaultOptions
{
    public const string Section = "Fabric:Secrets:AzureKeyVault";

    /// <summary>The vault, e.g. <c>https://myvault.vault.azure.net/</c>. Always https: the SDK refuses bearer tokens over http.</summary>
    public Uri? Uri { get; set; }

    /// <summary><see cref="AzureKeyVaultCredentialKinds"/>: <c>default</c> | <c>client-secret</c> | <c>workload-identity</c>.</summary>
    public string Credential { get; set; } = AzureKeyVaultCredentialKinds.Default;

    /// <summary>Entra tenant. Required for client-secret and workload identity (falls back to <c>AZURE_TENANT_ID</c> for the latter).</summary>
    public string? TenantId { get; set; }

    /// <summary>Application (client) id. Required for client-secret and workload identity
    /// (falls back to <c>AZURE_CLIENT_ID</c>); with <c>default</c> it selects a user-assigned managed identity.</summary>
    public string? ClientId { get; set; }

    /// <summary>The client secret for <c>client-secret</c>. Never logged.</summary>
    public string? ClientSecret { get; set; }

    /// <summary>The projected service-account token for <c>workload-identity</c>; defaults to <c>AZURE_FEDERATED_TOKEN_FILE</c>.</summary>
    public string? TokenFilePath { get; set; }

    /// <summary>Entra authority for sovereign clouds (e.g. <c>https://login.microsoftonline.us/</c>); unset = public cloud.</summary>
    public Uri? AuthorityHost { get; set; }

    /// <summary>
    /// How long a fetched value is trusted before the lease grain reads it again; a secret's own
    /// <c>attributes.exp</c> shortens it. Key Vault has no leases, so this is what makes a rotated
    /// secret reach the edges.
    /// </summary>
    public TimeSpan RefreshInterval { get; set; } = TimeSpan.FromMinutes(5);

    public override string ToString() =>
        $"AzureKeyVaultOptions(uri={Uri}, credential={Credential}, tenant={TenantId ?? "-"}, client={ClientId ?? "-"}, clientSecret={(ClientSecret is null ? "-" : "***")})";
}

/// <summary>The values <see cref="AzureKeyVaultOptions.Credential"/> accepts.</summary>
public static class AzureKeyVaultCredentialKinds
{
    /// <summary><c>DefaultAzureCredential</c>: environment, workload identity, managed identity, developer tools.</summary>
    public const string Default = "default";
    /// <summary><c>ClientSecretCredential</c>: an app registration with a secret.</summary>
    public const string ClientSecret = "client-secret";
    /// <summary><c>WorkloadIdentityCredential</c>: a federated Kubernetes service-account token.</summary>
    public const string WorkloadIdentity = "workload-identity";

    public static IReadOnlyList<string> All { get; } = [Default, ClientSecret, WorkloadIdentity];
}
