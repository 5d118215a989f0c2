using System.Security.Cryptography;
using Fabric.Contracts.Identity;
using Microsoft.Extensions.Logging;

namespace Fabric.Silo.Grains;

/// <summary>
/// Join tokens and edges (see <see cref="IEdgeRegistryGrain"/>). State is written before any answer that
/// depends on it: a token redeemed on one silo can never be redeemed again after a failover.
/// </summary>
public sealed partial class EdgeRegistryGrain(
    [PersistentState("edges", GrainStorage.Name)] IPersistentState<EdgeRegistryState> state,
    ILogger<EdgeRegistryGrain> logger,
    TimeProvider time) : Grain, IEdgeRegistryGrain
{
    public static readonly TimeSpan MaxTokenTtl = TimeSpan.FromDays(7);
    /// <summary>Used, expired and revoked tokens are kept this long past their expiry, so a replay is told why.</summary>
    private static readonly TimeSpan TokenRetention = TimeSpan.FromDays(1);
    private readonly Watchers<IEdgeRevocationObserver> _watchers = new(lifetime: TimeSpan.FromMinutes(1), timeout: TimeSpan.FromSeconds(2));

    public async ValueTask<JoinTokenResult> CreateTokenAsync(string? edgeName, TimeSpan ttl)
    {
        if (edgeName is not null && !FabricNodes.IsValidName(edgeName))
        {
            throw new ArgumentException($"'{edgeName}' is not a valid edge name", nameof(edgeName));
        }
        if (ttl <= TimeSpan.Zero || ttl > MaxTokenTtl)
        {
            throw new ArgumentOutOfRangeException(nameof(ttl), $"a join token lives between 1 s and {MaxTokenTtl.TotalDays} days");
        }
        if (edgeName is not null && state.State.Edges.TryGetValue(edgeName, out var edge) && edge.RevokedAt is not null)
        {
            return new JoinTokenResult(EdgeAdmission.EdgeRevoked, null, null, default);
        }
        var now = time.GetUtcNow();
        Prune(now);
        var tokenId = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
        var secret = System.Buffers.Text.Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));
        state.State.Tokens[tokenId] = new JoinTokenRecord
        {
            EdgeName = edgeName,
            SecretHash = JoinTokens.HashSecret(secret),
            CreatedAt = now,
            ExpiresAt = now + ttl,
        };
        await state.WriteStateAsync();
        LogTokenCreated(logger, tokenId, edgeName ?? "*", now + ttl);
        return new JoinTokenResult(EdgeAdmission.Admitted, tokenId, JoinTokens.Format(tokenId, secret), now + ttl);
    }

    public async ValueTask<EdgeAdmission> RedeemAsync(string tokenId, byte[] secretHash, string edgeName, DateTimeOffset svidExpiresAt)
    {
        var now = time.GetUtcNow();
        var outcome = Check(tokenId, secretHash, edgeName, now);
        if (outcome == EdgeAdmission.Admitted)
        {
            var token = state.State.Tokens[tokenId];
            token.UsedAt = now;
            token.UsedBy = edgeName;
            var edge = state.State.Edges.TryGetValue(edgeName, out var known) ? known : state.State.Edges[edgeName] = new EdgeRecord();
            edge.JoinedAt = now;
            edge.LastIssuedAt = now;
            edge.SvidExpiresAt = svidExpiresAt;
            await state.WriteStateAsync();
        }
        LogRedeemed(logger, tokenId, edgeName, outcome);
        return outcome;
    }

    private EdgeAdmission Check(string tokenId, byte[] secretHash, string edgeName, DateTimeOffset now)
    {
        // Unknown id and wrong secret answer alike: the id alone tells a prober nothing.
        if (!state.State.Tokens.TryGetValue(tokenId, out var token)
            || !CryptographicOperations.FixedTimeEquals(token.SecretHash, secretHash))
        {
            return EdgeAdmission.UnknownToken;
        }
        if (token.RevokedAt is not null)
        {
            return EdgeAdmission.TokenRevoked;
        }
        if (token.UsedAt is not null)
        {
            return EdgeAdmission.TokenUsed;
        }
        if (now >= token.ExpiresAt)
        {
            return EdgeAdmission.TokenExpired;
        }
        if (token.EdgeName is not null && token.EdgeName != edgeName)
        {
            return EdgeAdmission.WrongEdge;
        }
        return state.State.Edges.TryGetValue(edgeName, out var edge) && edge.RevokedAt is not null
            ? EdgeAdmission.EdgeRevoked
            : EdgeAdmission.Admitted;
    }

    public async ValueTask<EdgeAdmission> RenewAsync(string edgeName, DateTimeOffset svidExpiresAt)
    {
        if (!state.State.Edges.TryGetValue(edgeName, out var edge) || edge.JoinedAt is null)
        {
            return EdgeAdmission.UnknownEdge;
        }
        if (edge.RevokedAt is not null)
        {
            return EdgeAdmission.EdgeRevoked;
        }
        edge.LastIssuedAt = time.GetUtcNow();
        edge.SvidExpiresAt = svidExpiresAt;
        await state.WriteStateAsync();
        return EdgeAdmission.Admitted;
    }

    public async ValueTask<bool> RevokeTokenAsync(string tokenId)
    {
        if (!state.State.Tokens.TryGetValue(tokenId, out var token))
        {
            return false;
        }
        token.RevokedAt ??= time.GetUtcNow();
        await state.WriteStateAsync();
        return true;
    }

    public async ValueTask<bool> RevokeEdgeAsync(string edgeName)
    {
        var now = time.GetUtcNow();
        var known = state.State.Edges.TryGetValue(edgeName, out var edge);
        var tokens = state.State.Tokens.Values.Where(t => t.EdgeName == edgeName).ToList();
        if (!known && tokens.Count == 0)
        {
            return false;
        }
        edge ??= state.State.Edges[edgeName] = new EdgeRecord();
        edge.RevokedAt ??= now;
        foreach (var token in tokens)
        {
            token.RevokedAt ??= now;
        }
        await state.WriteStateAsync();

        // First the edge itself, while it still has a link: it drops its caches and stops trusting them.
        await GrainFactory.Hub().PublishAsync(new Invalidation(InvalidationKind.EdgeRevoked, edgeName, 0));
        // Then every silo refuses its handshakes and aborts its links, before this returns.
        // A silo that does not answer is dropped; it resyncs the whole revoked list when it re-watches.
        var (told, total) = await _watchers.TellAsync(w => w.OnEdgeRevokedAsync(edgeName));
        state.State.Watchers = _watchers.Current; // those that did not answer are dropped at the next write
        LogEdgeRevoked(logger, edgeName, told, total);
        return true;
    }

    public ValueTask<IReadOnlyList<JoinTokenInfo>> ListTokensAsync()
    {
        var now = time.GetUtcNow();
        IReadOnlyList<JoinTokenInfo> tokens = [.. state.State.Tokens
            .OrderBy(t => t.Value.CreatedAt)
            .Select(t => new JoinTokenInfo(t.Key, t.Value.EdgeName, t.Value.CreatedAt, t.Value.ExpiresAt, StateOf(t.Value, now), t.Value.UsedAt, t.Value.UsedBy))];
        return ValueTask.FromResult(tokens);
    }

    public ValueTask ReportAsync(EdgeReport report)
    {
        if (state.State.Edges.TryGetValue(report.EdgeName, out var edge) && edge.RevokedAt is null)
        {
            // A version string is the edge's own text: bounded, so a heartbeat cannot grow the registry.
            var version = report.Version.Length <= 64 ? report.Version : report.Version[..64];
            _seen[report.EdgeName] = (time.GetUtcNow(), version, Math.Max(0, report.AuditBacklog));
        }
        return ValueTask.CompletedTask;
    }

    public ValueTask<IReadOnlyList<EdgeInfo>> ListEdgesAsync()
    {
        IReadOnlyList<EdgeInfo> edges = [.. state.State.Edges
            .OrderBy(e => e.Key, StringComparer.Ordinal)
            .Select(e => _seen.TryGetValue(e.Key, out var seen) && e.Value.RevokedAt is null
                ? new EdgeInfo(e.Key, e.Value.JoinedAt, e.Value.LastIssuedAt, e.Value.SvidExpiresAt, false, null, seen.At, seen.Version, seen.Backlog)
                : new EdgeInfo(e.Key, e.Value.JoinedAt, e.Value.LastIssuedAt, e.Value.SvidExpiresAt, e.Value.RevokedAt is not null, e.Value.RevokedAt))];
        return ValueTask.FromResult(edges);
    }

    // Heartbeats: volatile by design (see IEdgeRegistryGrain.ReportAsync).
    private readonly Dictionary<string, (DateTimeOffset At, string Version, long Backlog)> _seen = new(StringComparer.Ordinal);

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        // Watchers that registered with an earlier activation (on another silo, before a membership change moved this
        // grain) are told too: a revocation must reach every silo's gateway, not only those that re-watched since.
        _watchers.Restore(state.State.Watchers, time.GetUtcNow());
        return Task.CompletedTask;
    }

    public async ValueTask<IReadOnlyList<string>> WatchAsync(IEdgeRevocationObserver observer)
    {
        if (_watchers.Renew(observer, time.GetUtcNow()))
        {
            state.State.Watchers = _watchers.Current;
            await state.WriteStateAsync();
        }
        return [.. state.State.Edges.Where(e => e.Value.RevokedAt is not null).Select(e => e.Key)];
    }

    private static JoinTokenState StateOf(JoinTokenRecord token, DateTimeOffset now) =>
        token.RevokedAt is not null ? JoinTokenState.Revoked
        : token.UsedAt is not null ? JoinTokenState.Used
        : now >= token.ExpiresAt ? JoinTokenState.Expired
        : JoinTokenState.Pending;

    private void Prune(DateTimeOffset now)
    {
        foreach (var old in state.State.Tokens.Where(t => now - t.Value.ExpiresAt > TokenRetention).Select(t => t.Key).ToList())
        {
            state.State.Tokens.Remove(old);
        }
    }

    [LoggerMessage(EventId = 1410, Level = LogLevel.Information, Message = "Join token {TokenId} created for edge {EdgeName}, valid until {ExpiresAt:O}")]
    private static partial void LogTokenCreated(ILogger logger, string tokenId, string edgeName, DateTimeOffset expiresAt);

    [LoggerMessage(EventId = 1411, Level = LogLevel.Information, Message = "Join token {TokenId} presented by edge {EdgeName}: {Outcome}")]
    private static partial void LogRedeemed(ILogger logger, string tokenId, string edgeName, EdgeAdmission outcome);

    [LoggerMessage(EventId = 1412, Level = LogLevel.Warning, Message = "Edge {EdgeName} revoked; {Notified}/{Watchers} silos told")]
    private static partial void LogEdgeRevoked(ILogger logger, string edgeName, int notified, int watchers);
}

[GenerateSerializer, Alias("fabric.edge-registry-state")]
public sealed class EdgeRegistryState
{
    [Id(0)] public Dictionary<string, JoinTokenRecord> Tokens { get; set; } = new(StringComparer.Ordinal);
    [Id(1)] public Dictionary<string, EdgeRecord> Edges { get; set; } = new(StringComparer.Ordinal);
    /// <summary>The silos' revocation watchers (observer references), so a reactivated registry still tells every one.</summary>
    [Id(2)] public List<IEdgeRevocationObserver> Watchers { get; set; } = [];
}

[GenerateSerializer, Alias("fabric.join-token-record")]
public sealed class JoinTokenRecord
{
    [Id(0)] public string? EdgeName { get; set; }
    /// <summary>SHA-256 of the secret; the secret itself is never stored.</summary>
    [Id(1)] public byte[] SecretHash { get; set; } = [];
    [Id(2)] public DateTimeOffset CreatedAt { get; set; }
    [Id(3)] public DateTimeOffset ExpiresAt { get; set; }
    [Id(4)] public DateTimeOffset? UsedAt { get; set; }
    [Id(5)] public string? UsedBy { get; set; }
    [Id(6)] public DateTimeOffset? RevokedAt { get; set; }
}

[GenerateSerializer, Alias("fabric.edge-record")]
public sealed class EdgeRecord
{
    [Id(0)] public DateTimeOffset? JoinedAt { get; set; }
    [Id(1)] public DateTimeOffset? LastIssuedAt { get; set; }
    [Id(2)] public DateTimeOffset? SvidExpiresAt { get; set; }
    [Id(3)] public DateTimeOffset? RevokedAt { get; set; }
}
