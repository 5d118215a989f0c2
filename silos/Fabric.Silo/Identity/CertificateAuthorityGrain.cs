using System.Security.Cryptography.X509Certificates;
using Fabric.Contracts.Identity;
using Microsoft.Extensions.Logging;

namespace Fabric.Silo.Identity;

/// <summary>
/// The CA of one trust domain (grain key = trust domain name, e.g. <c>fabric.local</c>), over the cluster's
/// <see cref="CaStore"/>: every activation, on any silo, signs with the same active root, the one the silos'
/// own SVIDs chain to, and serves the same bundle.
/// </summary>
/// <remarks>
/// <para>Rotation without downtime (<see cref="RotateAsync"/>):</para>
/// <code>
///  1 prepare  a new root joins the bundle (prepared)     sequence+1 ─► silos reload, edges refresh (acknowledged)
///  2 switch   the new root signs, the old one retires   sequence+1 ─► silos reload, edges refresh
///  3 retire   once the last SVID the old root signed    sequence+1 ─► (MaintainAsync, every silo's watcher,
///             has expired, it leaves the bundle                        every 30 s)
/// </code>
/// An SVID from the old root keeps validating until it expires; a new one chains to the new root. A root lives
/// <see cref="CaStore.RootValidity"/> (1 year); <see cref="MaintainAsync"/> starts a rotation when the active
/// root has less than <see cref="AutoRotateBefore"/> left, so leaves (clipped to their root's expiry) never shrink
/// to nothing and the CA never falls over at its anniversary.
/// </remarks>
public sealed partial class CertificateAuthorityGrain(CaStore store, TimeProvider time, ILogger<CertificateAuthorityGrain> logger)
    : Grain, ICertificateAuthorityGrain
{
    public static readonly TimeSpan AutoRotateBefore = TimeSpan.FromDays(90);
    public static readonly TimeSpan MaxJwtTtl = TimeSpan.FromMinutes(10);
    private static readonly TimeSpan WatchLifetime = TimeSpan.FromMinutes(2);

    private readonly Fabric.Silo.Grains.Watchers<ICaObserver> _watchers = new(WatchLifetime, timeout: TimeSpan.FromSeconds(2));
    private string _trustDomain = "";

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _trustDomain = this.GetPrimaryKeyString();
        if (!SpiffeId.IsValidTrustDomain(_trustDomain))
        {
            throw new ArgumentException($"'{_trustDomain}' is not a valid trust domain name");
        }
        return Task.CompletedTask;
    }

    public async ValueTask<string> GetBundlePemAsync() => (await store.GetAsync(_trustDomain)).BundlePem;

    public async ValueTask<TrustBundle> GetBundleAsync()
    {
        var set = await store.GetAsync(_trustDomain);
        return new TrustBundle(set.Sequence, set.BundlePem, set.JwtKeys);
    }

    public async ValueTask<IssuedJwtSvid> IssueJwtAsync(JwtSvidRequest request)
    {
        var set = await store.GetAsync(_trustDomain);
        RefuseReserved(request.SpiffeId);
        if (!SpiffeId.TryParse(request.SpiffeId, out var id) || !id.IsWorkload || id.TrustDomain != _trustDomain)
        {
            throw new ArgumentException($"'{request.SpiffeId}' is not a workload SPIFFE ID of '{_trustDomain}'", nameof(request));
        }
        if (request.Ttl <= TimeSpan.Zero || request.Ttl > MaxJwtTtl || request.Audience.Count == 0)
        {
            throw new ArgumentException($"a JWT-SVID needs an audience and lives at most {MaxJwtTtl.TotalMinutes:0} minutes", nameof(request));
        }
        var active = set.Active;
        using var key = System.Security.Cryptography.ECDsa.Create();
        key.ImportFromPem(active.JwtPrivateKeyPem!);
        var now = time.GetUtcNow();
        var token = JwtSvid.Issue(key, active.JwtPublicKey!.KeyId, id, request.Audience, now, request.Ttl);
        // The root (and its JWT key) stays in the bundle until this token has expired, should it retire first.
        await store.RecordLeafAsync(_trustDomain, active.CertificatePem, now + request.Ttl);
        return new IssuedJwtSvid(token, now + request.Ttl);
    }

    public async ValueTask<IssuedSvid> IssueAsync(SvidRequest request)
    {
        RefuseReserved(request.SpiffeId);
        var signing = await store.GetOrCreateAsync(_trustDomain);
        var issued = SvidIssuer.Issue(signing, request, time.GetUtcNow());
        await store.RecordLeafAsync(_trustDomain, signing.CertificatePem, issued.ExpiresAt);
        return issued;
    }

    public async ValueTask<CaStatus> GetStatusAsync() => Status(await store.ReloadAsync(_trustDomain));

    public async ValueTask<CaStatus> RotateAsync()
    {
        var now = time.GetUtcNow();
        var created = SvidIssuer.CreateRoot(_trustDomain, now, CaStore.RootValidity);
        var prepared = await store.UpdateAsync(_trustDomain, set => set.Roots.Count > 1
            ? null
            : set with { Roots = [.. set.Roots, CaRoot.Create(created, CaRootState.Prepared, now)] });
        if (!prepared.Roots.Any(r => r.CertificatePem == created.CertificatePem))
        {
            return Status(prepared, "a rotation is in progress: the previous root retires once every SVID it signed has expired (see retireAfter)");
        }
        LogPhase(logger, _trustDomain, "prepared", prepared.Sequence);
        await AnnounceAsync(prepared);

        var switched = await store.UpdateAsync(_trustDomain, set => set with
        {
            Roots = [.. set.Roots.Select(root => root.State switch
            {
                CaRootState.Active => root with { State = CaRootState.Retiring, RetireAfter = Later(now, root.MaxLeafExpiry) + store.LeafExpirySlack },
                CaRootState.Prepared when root.CertificatePem == created.CertificatePem => root with { State = CaRootState.Active },
                _ => root,
            })],
        });
        LogPhase(logger, _trustDomain, "switched", switched.Sequence);
        await AnnounceAsync(switched);
        return Status(switched);
    }

    public async ValueTask<CaStatus> MaintainAsync()
    {
        var now = time.GetUtcNow();
        var set = await store.ReloadAsync(_trustDomain);
        var done = set.Roots
            .Where(r => r.State == CaRootState.Retiring && now >= r.RetireAfter && now >= Later(DateTimeOffset.MinValue, r.MaxLeafExpiry) + store.LeafExpirySlack)
            .Select(r => r.CertificatePem)
            .ToHashSet(StringComparer.Ordinal);
        if (done.Count > 0)
        {
            set = await store.UpdateAsync(_trustDomain, s => s with { Roots = [.. s.Roots.Where(r => !done.Contains(r.CertificatePem))] });
            LogPhase(logger, _trustDomain, "retired", set.Sequence);
            await AnnounceAsync(set);
        }
        using (var active = X509Certificate2.CreateFromPem(set.Active.CertificatePem))
        {
            if (set.Roots.Count == 1 && active.NotAfter.ToUniversalTime() - now.UtcDateTime < AutoRotateBefore)
            {
                return await RotateAsync();
            }
        }
        return Status(set);
    }

    public async ValueTask<long> WatchAsync(ICaObserver observer)
    {
        _watchers.Renew(observer, time.GetUtcNow());
        DelayDeactivation(WatchLifetime);
        return (await store.GetAsync(_trustDomain)).Sequence;
    }

    /// <summary>Silos first (their links validate with the bundle they hold), then edges through the hub; both acknowledged.</summary>
    private async Task AnnounceAsync(CaSet set)
    {
        await _watchers.TellAsync(w => w.OnCaChangedAsync(set.Sequence));
        await GrainFactory.Hub().PublishAsync(new Invalidation(InvalidationKind.Bundle, _trustDomain, set.Sequence));
    }

    /// <summary>
    /// The fabric's own IDs (<c>/fabric/silo/…</c>, <c>/fabric/edge/…</c>) are never issued here: silos sign their own
    /// from the CA material before they link, edges get theirs by attestation. Any Orleans caller (an edge, in its role)
    /// can reach this grain, so it must not be able to mint itself a silo's identity.
    /// </summary>
    private static void RefuseReserved(string spiffeId)
    {
        if (SpiffeId.TryParse(spiffeId, out var id) && id.IsReserved)
        {
            throw new ArgumentException($"'{spiffeId}' is reserved for the fabric's own components and is never issued on request", nameof(spiffeId));
        }
    }

    private static DateTimeOffset Later(DateTimeOffset a, DateTimeOffset? b) => b is { } value && value > a ? value : a;

    private static CaStatus Status(CaSet set, string? refusal = null) => new(set.Sequence, [.. set.Roots.Select(root =>
    {
        using var certificate = X509Certificate2.CreateFromPem(root.CertificatePem);
        return new CaRootInfo(root.Sha256, root.State.ToString().ToLowerInvariant(),
            new DateTimeOffset(certificate.NotBefore.ToUniversalTime()), new DateTimeOffset(certificate.NotAfter.ToUniversalTime()),
            root.RetireAfter, root.MaxLeafExpiry);
    })], refusal);

    [LoggerMessage(EventId = 1440, Level = LogLevel.Warning, Message = "CA of {TrustDomain}: root {Phase}, bundle sequence {Sequence}")]
    private static partial void LogPhase(ILogger logger, string trustDomain, string phase, long sequence);
}
