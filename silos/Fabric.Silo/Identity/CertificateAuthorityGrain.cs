using Fabric.Contracts.Identity;
using Fabric.Silo.Secrets;

namespace Fabric.Silo.Identity;

/// <summary>
/// The CA of one trust domain (grain key = trust domain name, e.g. <c>fabric.local</c>). On its
/// first activation it creates a root and persists root and key with its state; later activations,
/// on any silo, reload the same root, so the bundle edges trust stays stable.
/// </summary>
/// <remarks>
/// The root lives <see cref="RootValidity"/> (1 year): long enough that a dev cluster does not
/// fall over, short enough to bound a leaked key. Leaves are clipped to the root's expiry, so SVID
/// lifetimes shrink in its last 30 days. Root rotation (a second root published in the bundle
/// before the first expires) is not implemented yet; past expiry IssueAsync fails closed.
/// </remarks>
public sealed class CertificateAuthorityGrain(
    [PersistentState("ca", "fabric")] IPersistentState<CertificateAuthorityState> state,
    LocalSecretProtector protector,
    TimeProvider time) : Grain, ICertificateAuthorityGrain
{
    public static readonly TimeSpan RootValidity = TimeSpan.FromDays(365);

    private CaMaterial? _ca;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var trustDomain = this.GetPrimaryKeyString();
        if (!SpiffeId.IsValidTrustDomain(trustDomain))
        {
            throw new ArgumentException($"'{trustDomain}' is not a valid trust domain name");
        }
        if (!state.State.HasRoot)
        {
            var now = time.GetUtcNow();
            var created = SvidIssuer.CreateRoot(trustDomain, now, RootValidity);
            state.State = new CertificateAuthorityState
            {
                RootCertificatePem = created.CertificatePem,
                RootPrivateKey = protector.Encrypt(CertificateAuthorityState.KeyContext(trustDomain), created.PrivateKeyPem),
                CreatedAt = now,
            };
            await state.WriteStateAsync(cancellationToken);
        }
        var key = protector.Decrypt(CertificateAuthorityState.KeyContext(trustDomain), state.State.RootPrivateKey!);
        _ca = new CaMaterial(trustDomain, state.State.RootCertificatePem, key);
    }

    public ValueTask<string> GetBundlePemAsync() => ValueTask.FromResult(Ca.CertificatePem);

    public ValueTask<IssuedSvid> IssueAsync(SvidRequest request) =>
        ValueTask.FromResult(SvidIssuer.Issue(Ca, request, time.GetUtcNow()));

    private CaMaterial Ca => _ca ?? throw new InvalidOperationException("the CA grain is not activated");
}
