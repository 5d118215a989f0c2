namespace Fabric.Contracts.Grains;

/// <summary>
/// The edges of the cluster and the join tokens that admit them (key "default"): SPIRE's join-token node
/// attestation. A token is single-use, expires, and is stored only as the SHA-256 of its secret. A revoked
/// edge name is refused for good: at its next renewal, at every Orleans handshake, and for new tokens.
/// </summary>
[Alias("fabric.IEdgeRegistryGrain")]
public interface IEdgeRegistryGrain : IGrainWithStringKey
{
    /// <summary>Creates a token for <paramref name="edgeName"/> (null: any edge name, for the local join file only).</summary>
    [Alias("CreateToken")]
    ValueTask<JoinTokenResult> CreateTokenAsync(string? edgeName, TimeSpan ttl);

    /// <summary>
    /// Redeems a token for <paramref name="edgeName"/> (single use): admitted, or the reason it is refused.
    /// <paramref name="secretHash"/> is the SHA-256 of the token's secret part; the secret itself never travels.
    /// </summary>
    [Alias("Redeem")]
    ValueTask<EdgeAdmission> RedeemAsync(string tokenId, byte[] secretHash, string edgeName, DateTimeOffset svidExpiresAt);

    /// <summary>Whether <paramref name="edgeName"/> may renew its SVID; records the renewal when it may.</summary>
    [Alias("Renew")]
    ValueTask<EdgeAdmission> RenewAsync(string edgeName, DateTimeOffset svidExpiresAt);

    [Alias("RevokeToken")]
    ValueTask<bool> RevokeTokenAsync(string tokenId);

    /// <summary>
    /// Revokes an edge for good and tells every subscribed silo before returning (they refuse its handshakes and
    /// abort its links). False when the name was never seen (no token, no join).
    /// </summary>
    [Alias("RevokeEdge")]
    ValueTask<bool> RevokeEdgeAsync(string edgeName);

    [Alias("ListTokens")]
    ValueTask<IReadOnlyList<JoinTokenInfo>> ListTokensAsync();

    /// <summary>
    /// An edge's heartbeat: held in memory only (a registry that moves starts blank and fills within one period); a
    /// name that never joined, or was revoked, is ignored.
    /// </summary>
    [Alias("Report")]
    ValueTask ReportAsync(EdgeReport report);

    [Alias("ListEdges")]
    ValueTask<IReadOnlyList<EdgeInfo>> ListEdgesAsync();

    /// <summary>Subscribes (or renews) a silo's watcher; returns every revoked edge name, for a resync.</summary>
    [Alias("Watch")]
    ValueTask<IReadOnlyList<string>> WatchAsync(IEdgeRevocationObserver observer);
}

/// <summary>Implemented by each silo: hears of a revoked edge at once.</summary>
[Alias("fabric.IEdgeRevocationObserver")]
public interface IEdgeRevocationObserver : IGrainObserver
{
    [Alias("OnEdgeRevoked")]
    Task OnEdgeRevokedAsync(string edgeName);
}

/// <summary>Why a join or a renewal was refused; each is a stable reason code (problem type) on the bootstrap endpoint.</summary>
[GenerateSerializer, Alias("fabric.edge-admission")]
public enum EdgeAdmission
{
    Admitted = 0,
    UnknownToken = 1,
    TokenUsed = 2,
    TokenExpired = 3,
    TokenRevoked = 4,
    EdgeRevoked = 5,
    /// <summary>The token was made for another edge name.</summary>
    WrongEdge = 6,
    /// <summary>A renewal by a name that never joined.</summary>
    UnknownEdge = 7,
}

[GenerateSerializer, Immutable, Alias("fabric.join-token-result")]
public sealed record JoinTokenResult(
    [property: Id(0)] EdgeAdmission Status,
    [property: Id(1)] string? TokenId,
    [property: Id(2)] string? Token,
    [property: Id(3)] DateTimeOffset ExpiresAt)
{
    // The token is a credential: never in a log line.
    public override string ToString() => $"JoinTokenResult({Status}, id={TokenId}, token=***)";
}

[GenerateSerializer, Alias("fabric.join-token-state")]
public enum JoinTokenState
{
    Pending = 0,
    Used = 1,
    Expired = 2,
    Revoked = 3,
}

[GenerateSerializer, Immutable, Alias("fabric.join-token-info")]
public sealed record JoinTokenInfo(
    [property: Id(0)] string TokenId,
    [property: Id(1)] string? EdgeName,
    [property: Id(2)] DateTimeOffset CreatedAt,
    [property: Id(3)] DateTimeOffset ExpiresAt,
    [property: Id(4)] JoinTokenState State,
    [property: Id(5)] DateTimeOffset? UsedAt,
    [property: Id(6)] string? UsedBy);

[GenerateSerializer, Immutable, Alias("fabric.edge-info")]
public sealed record EdgeInfo(
    [property: Id(0)] string Name,
    [property: Id(1)] DateTimeOffset? JoinedAt,
    [property: Id(2)] DateTimeOffset? LastIssuedAt,
    [property: Id(3)] DateTimeOffset? SvidExpiresAt,
    [property: Id(4)] bool Revoked,
    [property: Id(5)] DateTimeOffset? RevokedAt,
    [property: Id(6)] DateTimeOffset? LastSeen = null,
    [property: Id(7)] string? Version = null,
    [property: Id(8)] long? AuditBacklog = null);

/// <summary>What a running edge reports about itself every few seconds: what it runs, and its audit not yet shipped.</summary>
[GenerateSerializer, Immutable, Alias("fabric.edge-report")]
public sealed record EdgeReport(
    [property: Id(0)] string EdgeName,
    [property: Id(1)] string Version,
    [property: Id(2)] long AuditBacklog);

/// <summary>The join token's text form: <c>fjt1.&lt;id&gt;.&lt;secret&gt;</c>, id 16 hex digits, secret 32 random bytes base64url.</summary>
public static class JoinTokens
{
    public const string Prefix = "fjt1";

    public static string Format(string tokenId, string secret) => $"{Prefix}.{tokenId}.{secret}";

    /// <summary>A token id: 16 lower-case hex digits.</summary>
    public static bool IsValidId(string? tokenId) => tokenId is { Length: 16 } && tokenId.All(char.IsAsciiHexDigitLower);

    public static bool TryParse(string? token, [NotNullWhen(true)] out string? tokenId, [NotNullWhen(true)] out string? secret)
    {
        tokenId = secret = null;
        var parts = token?.Split('.');
        if (parts is not [Prefix, var id, var s] || !IsValidId(id) || s.Length != 43
            || !s.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
        {
            return false;
        }
        tokenId = id;
        secret = s;
        return true;
    }

    public static byte[] HashSecret(string secret) =>
        System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.ASCII.GetBytes(secret));
}
