using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Options;

namespace Fabric.Silo.Secrets.Vault;

/// <summary>Startup checks for <see cref="VaultOptions"/>; messages name the key to fix, never a credential.</summary>
internal sealed class VaultOptionsValidator : IValidateOptions<VaultOptions>
{
    public ValidateOptionsResult Validate(string? name, VaultOptions options)
    {
        var failures = new List<string>();
        const string key = VaultOptions.Section;

        if (!Uri.TryCreate(options.Address, UriKind.Absolute, out var address)
            || (address.Scheme != Uri.UriSchemeHttps && address.Scheme != Uri.UriSchemeHttp))
        {
            failures.Add($"{key}:Address must be an absolute https URL of the Vault server (got '{options.Address}').");
        }
        else if (address.Scheme == Uri.UriSchemeHttp && !address.IsLoopback)
        {
            // A Vault token crosses this connection on every request: plain http only where it cannot leave the host.
            failures.Add($"{key}:Address '{options.Address}' uses http on a non-loopback host; use https (http is allowed only for 127.0.0.1/::1/localhost).");
        }
        else if (!string.IsNullOrEmpty(address.Query) || !string.IsNullOrEmpty(address.Fragment) || !string.IsNullOrEmpty(address.UserInfo))
        {
            failures.Add($"{key}:Address must not carry user info, a query or a fragment.");
        }

        if (options.UsesAppRole)
        {
            if (string.IsNullOrWhiteSpace(options.RoleId))
            {
                failures.Add($"{key}:RoleId is required when {key}:Auth is 'approle'.");
            }
            if (string.IsNullOrWhiteSpace(options.SecretId))
            {
                failures.Add($"{key}:SecretId is required when {key}:Auth is 'approle'.");
            }
            if (string.IsNullOrWhiteSpace(options.MountPath) || options.MountPath.Trim('/').Split('/').Any(s => s is "" or "." or ".."))
            {
                failures.Add($"{key}:MountPath must be the AppRole mount path, e.g. 'approle'.");
            }
        }
        else if (string.Equals(options.Auth, VaultOptions.TokenAuth, StringComparison.OrdinalIgnoreCase))
        {
            if (string.IsNullOrWhiteSpace(options.Token))
            {
                failures.Add($"{key}:Token is required when {key}:Auth is 'token'.");
            }
        }
        else
        {
            failures.Add($"{key}:Auth must be 'token' or 'approle' (got '{options.Auth}').");
        }

        if (!string.IsNullOrWhiteSpace(options.CaFile))
        {
            var error = CheckCaFile(options.CaFile);
            if (error is not null)
            {
                failures.Add($"{key}:CaFile '{options.CaFile}': {error}");
            }
        }

        if (options.KvRefreshInterval <= TimeSpan.Zero)
        {
            failures.Add($"{key}:KvRefreshInterval must be positive.");
        }
        if (options.Timeout <= TimeSpan.Zero)
        {
            failures.Add($"{key}:Timeout must be positive.");
        }
        if (options.MaxRetries is < 0 or > 10)
        {
            failures.Add($"{key}:MaxRetries must be between 0 and 10.");
        }
        if (options.MinRetryWait < TimeSpan.Zero || options.MaxRetryWait < options.MinRetryWait)
        {
            failures.Add($"{key}:MinRetryWait must be >= 0 and MaxRetryWait >= MinRetryWait.");
        }
        if (options.MaxRetryAfter < TimeSpan.Zero)
        {
            failures.Add($"{key}:MaxRetryAfter must be >= 0.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static string? CheckCaFile(string path)
    {
        if (!File.Exists(path))
        {
            return "file not found.";
        }
        try
        {
            return VaultHttpHandler.LoadCaBundle(path).Count == 0 ? "no PEM certificate in the file." : null;
        }
        catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException)
        {
            return $"not a readable PEM certificate bundle ({e.Message}).";
        }
    }
}
