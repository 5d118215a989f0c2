namespace Fabric.Silo.Tests.Secrets.Vault;

/// <summary>One request as the double saw it (path without <c>/v1/</c>).</summary>
public sealed record VaultRequestRecord(string Method, string Path, string Query, string? Token, string? Namespace, string? VaultRequest, string Body);

public sealed record LeaseSnapshot(string Id, bool Active, bool Revoked, TimeSpan Ttl, string? Username, string? Password);

public enum VaultHealthState { Active, Standby, DrSecondary, PerformanceStandby, NotInitialized, Sealed }

public enum VaultFaultKind { RateLimited, Sealed, Internal, Drop, Status }

public sealed record VaultFault(VaultFaultKind Kind, string? RetryAfter = null, int Status = 0, string[]? Errors = null)
{
    public static VaultFault RateLimited(string? retryAfter) => new(VaultFaultKind.RateLimited, retryAfter);
    public static VaultFault Sealed { get; } = new(VaultFaultKind.Sealed);
    public static VaultFault Internal { get; } = new(VaultFaultKind.Internal);
    public static VaultFault Drop { get; } = new(VaultFaultKind.Drop);
    public static VaultFault WithStatus(int status, params string[] errors) => new(VaultFaultKind.Status, Status: status, Errors: errors);
}
