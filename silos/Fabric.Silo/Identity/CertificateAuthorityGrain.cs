using Fabric.Contracts.Identity;

namespace Fabric.Silo.Identity;

/// <summary>
/// The CA of one trust domain (grain key = trust domain name, e.g. <c>fabric.local</c>), over the
/// cluster's <see cref="CaStore"/>: every activation, on any silo, signs with the same root, the one the
/// silos' own SVIDs chain to, so the bundle edges trust stays stable.
/// </summary>
/// <remarks>
/// The root lives <see cref="CaStore.RootValidity"/> (1 year): long enough that a dev cluster does not
/// fall over, short enough to bound a leaked key. Leaves are clipped to the root's expiry, so SVID
/// lifetimes shrink in its last 30 days. Root rotation (a second root published in the bundle
/// before the first expires) is not implemented yet; past expiry IssueAsync fails closed.
/// </remarks>
public sealed class CertificateAuthorityGrain(CaStore store, TimeProvider time) : Grain, ICertificateAuthorityGrain
{
    private CaMaterial? _ca;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var trustDomain = this.GetPrimaryKeyString();
        if (!SpiffeId.IsValidTrustDomain(trustDomain))
        {
            throw new ArgumentException($"'{trustDomain}' is not a valid trust domain name");
        }
        _ca = await store.GetOrCreateAsync(trustDomain, cancellationToken);
    }

    public ValueTask<string> GetBundlePemAsync() => ValueTask.FromResult(Ca.CertificatePem);

    public ValueTask<IssuedSvid> IssueAsync(SvidRequest request) =>
        ValueTask.FromResult(SvidIssuer.Issue(Ca, request, time.GetUtcNow()));

    private CaMaterial Ca => _ca ?? throw new InvalidOperationException("the CA grain is not activated");
}
