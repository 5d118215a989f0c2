using Microsoft.Extensions.Options;

namespace Fabric.Silo.Secrets.AzureKeyVault;

/// <summary>
/// Fills what the AKS workload identity webhook injects (<c>AZURE_FEDERATED_TOKEN_FILE</c>, and for
/// <c>workload-identity</c> <c>AZURE_TENANT_ID</c> / <c>AZURE_CLIENT_ID</c>) and then validates, so a
/// silo with a half-configured vault refuses to start with a message that names the key to set.
/// </summary>
public sealed class AzureKeyVaultOptionsSetup(Func<string, string?> environment)
    : IPostConfigureOptions<AzureKeyVaultOptions>, IValidateOptions<AzureKeyVaultOptions>
{
    public AzureKeyVaultOptionsSetup() : this(Environment.GetEnvironmentVariable) { }

    public void PostConfigure(string? name, AzureKeyVaultOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Credential = string.IsNullOrWhiteSpace(options.Credential)
            ? AzureKeyVaultCredentialKinds.Default
            : options.Credential.Trim().ToLowerInvariant();
        options.TokenFilePath = NullIfBlank(options.TokenFilePath) ?? NullIfBlank(environment("AZURE_FEDERATED_TOKEN_FILE"));
        if (options.Credential == AzureKeyVaultCredentialKinds.WorkloadIdentity)
        {
            options.TenantId = NullIfBlank(options.TenantId) ?? NullIfBlank(environment("AZURE_TENANT_ID"));
            options.ClientId = NullIfBlank(options.ClientId) ?? NullIfBlank(environment("AZURE_CLIENT_ID"));
        }
    }

    public ValidateOptionsResult Validate(string? name, AzureKeyVaultOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        const string Prefix = AzureKeyVaultOptions.Section + ":";

        if (options.Uri is not { IsAbsoluteUri: true } uri || uri.Scheme != System.Uri.UriSchemeHttps)
        {
            failures.Add($"{Prefix}Uri must be an absolute https URL of the vault (e.g. https://myvault.vault.azure.net/); got '{options.Uri}'.");
        }
        if (options.AuthorityHost is { } authority && (!authority.IsAbsoluteUri || authority.Scheme != System.Uri.UriSchemeHttps))
        {
            failures.Add($"{Prefix}AuthorityHost must be an absolute https URL (e.g. https://login.microsoftonline.com/); got '{authority}'.");
        }
        if (options.RefreshInterval <= TimeSpan.Zero)
        {
            failures.Add($"{Prefix}RefreshInterval must be positive (e.g. 00:05:00); got '{options.RefreshInterval}'.");
        }

        switch (options.Credential)
        {
            case AzureKeyVaultCredentialKinds.Default:
                break;
            case AzureKeyVaultCredentialKinds.ClientSecret:
                Require(options.TenantId, "TenantId", "client-secret", failures);
                Require(options.ClientId, "ClientId", "client-secret", failures);
                Require(options.ClientSecret, "ClientSecret", "client-secret", failures);
                break;
            case AzureKeyVaultCredentialKinds.WorkloadIdentity:
                Require(options.TenantId, "TenantId", "workload-identity (or set AZURE_TENANT_ID)", failures);
                Require(options.ClientId, "ClientId", "workload-identity (or set AZURE_CLIENT_ID)", failures);
                Require(options.TokenFilePath, "TokenFilePath", "workload-identity (or set AZURE_FEDERATED_TOKEN_FILE)", failures);
                break;
            default:
                failures.Add($"{Prefix}Credential must be one of {string.Join(", ", AzureKeyVaultCredentialKinds.All.Select(k => $"'{k}'"))}; got '{options.Credential}'.");
                break;
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void Require(string? value, string key, string when, List<string> failures)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            failures.Add($"{AzureKeyVaultOptions.Section}:{key} is required when Credential is {when}.");
        }
    }

    private static string? NullIfBlank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();
}
