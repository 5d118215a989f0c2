using Microsoft.Extensions.Logging;

namespace Fabric.Silo.Secrets.Vault;

/// <summary>Vault log events (3200–3299). Arguments are paths, lease ids, durations and error kinds: never a token or a value.</summary>
internal static partial class VaultLog
{
    [LoggerMessage(EventId = 3201, Level = LogLevel.Information,
        Message = "Logged in to Vault with AppRole at auth/{Mount}: token TTL {Ttl}, renewable {Renewable}")]
    public static partial void LoggedIn(ILogger logger, string mount, TimeSpan ttl, bool renewable);

    [LoggerMessage(EventId = 3202, Level = LogLevel.Debug, Message = "Vault token renewed: TTL {Ttl}, renewable {Renewable}")]
    public static partial void TokenRenewed(ILogger logger, TimeSpan ttl, bool renewable);

    [LoggerMessage(EventId = 3203, Level = LogLevel.Warning, Message = "Renewing the Vault token failed ({Error}: {Detail}); {Next}")]
    public static partial void TokenRenewFailed(ILogger logger, SecretSourceError error, string detail, string next);

    [LoggerMessage(EventId = 3204, Level = LogLevel.Warning,
        Message = "Vault refused {Method} /v1/{Path} with a token thought valid; logging in again once")]
    public static partial void ReloginAfterForbidden(ILogger logger, string method, string path);

    [LoggerMessage(EventId = 3205, Level = LogLevel.Debug, Message = "Vault token looked up: TTL {Ttl}, renewable {Renewable}")]
    public static partial void TokenLookedUp(ILogger logger, TimeSpan ttl, bool renewable);

    [LoggerMessage(EventId = 3206, Level = LogLevel.Information,
        Message = "The configured Vault token cannot look itself up ({Detail}); using it without TTL tracking")]
    public static partial void TokenLookupRefused(ILogger logger, string detail);

    [LoggerMessage(EventId = 3210, Level = LogLevel.Debug, Message = "Vault lease {LeaseId} issued for {Path}: {Duration}, renewable {Renewable}")]
    public static partial void LeaseIssued(ILogger logger, string leaseId, string path, TimeSpan duration, bool renewable);

    [LoggerMessage(EventId = 3211, Level = LogLevel.Debug, Message = "Vault lease {LeaseId} renewed: {Duration}, renewable {Renewable}")]
    public static partial void LeaseRenewed(ILogger logger, string leaseId, TimeSpan duration, bool renewable);

    [LoggerMessage(EventId = 3212, Level = LogLevel.Information, Message = "Vault lease {LeaseId} revoked")]
    public static partial void LeaseRevoked(ILogger logger, string leaseId);

    [LoggerMessage(EventId = 3213, Level = LogLevel.Warning,
        Message = "Vault lease {LeaseId} from {Path} is unusable ({Detail}); revoking it")]
    public static partial void LeaseUnusable(ILogger logger, string leaseId, string path, string detail);

    [LoggerMessage(EventId = 3214, Level = LogLevel.Warning, Message = "Revoking Vault lease {LeaseId} failed ({Error}: {Detail})")]
    public static partial void LeaseRevokeFailed(ILogger logger, string leaseId, SecretSourceError error, string detail);

    [LoggerMessage(EventId = 3220, Level = LogLevel.Debug, Message = "Vault {Method} /v1/{Path} failed: {Error}")]
    public static partial void RequestFailed(ILogger logger, string method, string path, SecretSourceError error);
}
