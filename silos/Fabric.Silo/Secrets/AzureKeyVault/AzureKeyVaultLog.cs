using Microsoft.Extensions.Logging;

namespace Fabric.Silo.Secrets.AzureKeyVault;

/// <summary>Log lines of the <c>azure-keyvault</c> source (event ids 3300–3309). None carries a secret value.</summary>
internal static partial class AzureKeyVaultLog
{
    [LoggerMessage(EventId = 3300, Level = LogLevel.Information,
        Message = "Key Vault source reads {Vault} with the '{Credential}' credential, refresh interval {RefreshInterval}")]
    public static partial void Configured(ILogger logger, Uri vault, string credential, TimeSpan refreshInterval);

    [LoggerMessage(EventId = 3301, Level = LogLevel.Debug,
        Message = "Fetched Key Vault secret '{Name}' version {Version}, trusted until {ExpiresAt:O}")]
    public static partial void Fetched(ILogger logger, string name, string? version, DateTimeOffset expiresAt);

    [LoggerMessage(EventId = 3302, Level = LogLevel.Warning,
        Message = "Key Vault secret '{Name}' version {Version} is not usable: {Reason}")]
    public static partial void NotUsable(ILogger logger, string name, string? version, string reason);

    [LoggerMessage(EventId = 3303, Level = LogLevel.Warning,
        Message = "Key Vault refused or failed reading secret '{Name}': {Error} (HTTP {Status}, {ErrorCode})")]
    public static partial void RequestFailed(ILogger logger, string name, SecretSourceError error, int status, string? errorCode);

    [LoggerMessage(EventId = 3304, Level = LogLevel.Warning,
        Message = "Could not obtain an Entra token for Key Vault ({CredentialType})")]
    public static partial void AuthenticationFailed(ILogger logger, string credentialType);

    [LoggerMessage(EventId = 3305, Level = LogLevel.Warning,
        Message = "Key Vault did not answer for secret '{Name}' within {Timeout}")]
    public static partial void TimedOut(ILogger logger, string name, TimeSpan timeout);

    [LoggerMessage(EventId = 3306, Level = LogLevel.Warning,
        Message = "Key Vault health probe failed: {Detail}")]
    public static partial void Unhealthy(ILogger logger, string detail);
}
