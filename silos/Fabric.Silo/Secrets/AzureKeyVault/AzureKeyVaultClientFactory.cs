using Azure.Core;
using Azure.Identity;
using Azure.Security.KeyVault.Secrets;

namespace Fabric.Silo.Secrets.AzureKeyVault;

/// <summary>
/// Builds the <see cref="SecretClient"/> the source uses: the configured Azure.Identity credential
/// and a bounded retry policy.
/// </summary>
public static class AzureKeyVaultClientFactory
{
    /// <summary>
    /// The SDK retries 408, 429, 500, 502, 503, 504 and connection failures itself, honouring
    /// <c>Retry-After</c> (the Key Vault throttling guidance asks for exactly that). The lease grain
    /// sits on top with its own cadence and keeps serving a still-valid cached value during an
    /// outage, so a fetch should fail fast rather than stall a grain turn: two retries, short
    /// exponential back-off, a 10 s network timeout per try. <see cref="AzureKeyVaultSecretSource"/>
    /// also bounds a whole call, since a server's <c>Retry-After</c> may be longer than that.
    /// </summary>
    public static SecretClientOptions CreateClientOptions()
    {
        var options = new SecretClientOptions();
        options.Retry.Mode = RetryMode.Exponential;
        options.Retry.MaxRetries = 2;
        options.Retry.Delay = TimeSpan.FromMilliseconds(200);
        options.Retry.MaxDelay = TimeSpan.FromSeconds(2);
        options.Retry.NetworkTimeout = TimeSpan.FromSeconds(10);
        return options;
    }

    /// <summary>The credential <see cref="AzureKeyVaultOptions.Credential"/> names. Options must be validated first.</summary>
    public static TokenCredential CreateCredential(AzureKeyVaultOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options.Credential switch
        {
            AzureKeyVaultCredentialKinds.ClientSecret => new ClientSecretCredential(
                options.TenantId, options.ClientId, options.ClientSecret,
                new ClientSecretCredentialOptions { AuthorityHost = options.AuthorityHost ?? AzureAuthorityHosts.AzurePublicCloud }),
            AzureKeyVaultCredentialKinds.WorkloadIdentity => new WorkloadIdentityCredential(new WorkloadIdentityCredentialOptions
            {
                TenantId = options.TenantId,
                ClientId = options.ClientId,
                TokenFilePath = options.TokenFilePath,
                AuthorityHost = options.AuthorityHost ?? AzureAuthorityHosts.AzurePublicCloud,
            }),
            AzureKeyVaultCredentialKinds.Default => CreateDefault(options),
            _ => throw new InvalidOperationException($"{AzureKeyVaultOptions.Section}:Credential '{options.Credential}' is not supported."),
        };
    }

    public static SecretClient CreateClient(AzureKeyVaultOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var vault = options.Uri ?? throw new InvalidOperationException($"{AzureKeyVaultOptions.Section}:Uri is not set.");
        return new SecretClient(vault, CreateCredential(options), CreateClientOptions());
    }

    /// <remarks>The default chain's workload identity leg reads <c>AZURE_FEDERATED_TOKEN_FILE</c> from the
    /// environment itself; <see cref="AzureKeyVaultOptions.TokenFilePath"/> applies to <c>workload-identity</c> only.</remarks>
    private static DefaultAzureCredential CreateDefault(AzureKeyVaultOptions options)
    {
        var credentialOptions = new DefaultAzureCredentialOptions();
        if (options.TenantId is { Length: > 0 } tenant)
        {
            credentialOptions.TenantId = tenant;
        }
        if (options.ClientId is { Length: > 0 } client)
        {
            // A client id with the default chain picks the user-assigned managed identity and the
            // workload identity app; without one the system-assigned identity is used.
            credentialOptions.ManagedIdentityClientId = client;
            credentialOptions.WorkloadIdentityClientId = client;
        }
        if (options.AuthorityHost is { } authority)
        {
            credentialOptions.AuthorityHost = authority;
        }
        return new DefaultAzureCredential(credentialOptions);
    }
}
