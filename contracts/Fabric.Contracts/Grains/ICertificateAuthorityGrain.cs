namespace Fabric.Contracts.Grains;

/// <summary>
/// The CA of one trust domain (key = trust domain name), over the cluster's CA store. Rotates its root without
/// downtime: prepare a second root and publish both, switch issuance once every silo and edge holds the new
/// bundle, retire the old root once no SVID it signed is still valid.
/// <para>
/// Reads, issuance and watching interleave with a rotation in progress: the edges a rotation waits for read the
/// new bundle from this very grain before they acknowledge, and SVIDs keep being issued (by the active root) meanwhile.
/// </para>
/// </summary>
[Alias("fabric.ICertificateAuthorityGrain")]
public interface ICertificateAuthorityGrain : IGrainWithStringKey
{
    /// <summary>The trust bundle of this trust domain as PEM (public): every trusted root.</summary>
    [Alias("GetBundle")]
    [AlwaysInterleave]
    ValueTask<string> GetBundlePemAsync();

    /// <summary>The trust bundle with its sequence number, which only grows.</summary>
    [Alias("GetSequencedBundle")]
    [AlwaysInterleave]
    ValueTask<TrustBundle> GetBundleAsync();

    /// <summary>Issues an X.509-SVID with a fresh key pair, signed by the active root.</summary>
    [Alias("Issue")]
    [AlwaysInterleave]
    ValueTask<IssuedSvid> IssueAsync(SvidRequest request);

    /// <summary>Issues a JWT-SVID (ES256, the active root's JWT key) for at most 10 minutes.</summary>
    [Alias("IssueJwt")]
    [AlwaysInterleave]
    ValueTask<IssuedJwtSvid> IssueJwtAsync(JwtSvidRequest request);

    [Alias("Status")]
    [AlwaysInterleave]
    ValueTask<CaStatus> GetStatusAsync();

    /// <summary>
    /// Rotates the root: returns once issuance switched to the new root (every watching silo and subscribed edge
    /// acknowledged the bundle holding both), or at once with <see cref="CaStatus.Refusal"/> while one is in progress.
    /// </summary>
    [Alias("Rotate")]
    ValueTask<CaStatus> RotateAsync();

    /// <summary>Retires roots no valid SVID depends on any more, and starts a rotation when the active root nears its expiry. Idempotent.</summary>
    [Alias("Maintain")]
    ValueTask<CaStatus> MaintainAsync();

    /// <summary>Subscribes (or renews) a silo's watcher: told of every change of the root set before it is announced to edges.</summary>
    [Alias("Watch")]
    [AlwaysInterleave]
    ValueTask<long> WatchAsync(ICaObserver observer);
}

[Alias("fabric.ICaObserver")]
public interface ICaObserver : IGrainObserver
{
    [Alias("OnCaChanged")]
    Task OnCaChangedAsync(long sequence);
}

[GenerateSerializer, Immutable, Alias("fabric.trust-bundle")]
public sealed record TrustBundle(
    [property: Id(0)] long Sequence,
    [property: Id(1)] string Pem,
    [property: Id(2)] IReadOnlyList<Fabric.Contracts.Identity.JwtKey> JwtKeys);

[GenerateSerializer, Immutable, Alias("fabric.jwt-svid-request")]
public sealed record JwtSvidRequest(
    [property: Id(0)] string SpiffeId,
    [property: Id(1)] IReadOnlyList<string> Audience,
    [property: Id(2)] TimeSpan Ttl);

/// <summary>A signed JWT-SVID. ToString hides the token: it is a bearer credential.</summary>
[GenerateSerializer, Immutable, Alias("fabric.issued-jwt-svid")]
public sealed record IssuedJwtSvid([property: Id(0)] string Token, [property: Id(1)] DateTimeOffset ExpiresAt)
{
    public override string ToString() => $"IssuedJwtSvid(expires={ExpiresAt:O}, token=***)";
}

[GenerateSerializer, Immutable, Alias("fabric.ca-status")]
public sealed record CaStatus(
    [property: Id(0)] long Sequence,
    [property: Id(1)] IReadOnlyList<CaRootInfo> Roots,
    [property: Id(2)] string? Refusal = null);

/// <summary>One root, public facts only. <see cref="State"/>: <c>active</c>, <c>prepared</c> or <c>retiring</c>.</summary>
[GenerateSerializer, Immutable, Alias("fabric.ca-root-info")]
public sealed record CaRootInfo(
    [property: Id(0)] string Sha256,
    [property: Id(1)] string State,
    [property: Id(2)] DateTimeOffset NotBefore,
    [property: Id(3)] DateTimeOffset NotAfter,
    [property: Id(4)] DateTimeOffset? RetireAfter,
    [property: Id(5)] DateTimeOffset? LastLeafExpiry);

[GenerateSerializer, Immutable, Alias("fabric.svid-request")]
public sealed record SvidRequest(
    [property: Id(0)] string SpiffeId,
    [property: Id(1)] TimeSpan Ttl,
    [property: Id(2)] IReadOnlyList<string> DnsNames,
    [property: Id(3)] IReadOnlyList<string> IpAddresses);

/// <summary>A certificate, its private key and the trust bundle, all PEM. ToString hides the key.</summary>
[GenerateSerializer, Immutable, Alias("fabric.issued-svid")]
public sealed class IssuedSvid
{
    [Id(0)] public required string CertificatePem { get; init; }
    [Id(1)] public required string PrivateKeyPem { get; init; }
    [Id(2)] public required string BundlePem { get; init; }
    [Id(3)] public required DateTimeOffset ExpiresAt { get; init; }

    public override string ToString() => $"IssuedSvid(expires={ExpiresAt:O}, key=***)";
}
