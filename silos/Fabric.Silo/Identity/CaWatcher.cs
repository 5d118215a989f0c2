using Fabric.Contracts.Identity;
using Microsoft.Extensions.Options;

namespace Fabric.Silo.Identity;

/// <summary>
/// Keeps this silo's view of the CA current: on every change the CA grain announces (and on each resync, every
/// 30 s) it re-reads the CA store, so it signs with the active root, and puts the whole bundle into its own
/// <see cref="NodeIdentity"/>, so its Orleans links and its bootstrap endpoint accept SVIDs of every trusted
/// root. Each resync also runs the CA's maintenance (retiring roots no SVID needs any more).
/// </summary>
internal sealed partial class CaWatcher(
    IGrainFactory grains,
    CaStore store,
    NodeIdentity identity,
    IOptions<TrustDomainOptions> trustDomain,
    ILogger<CaWatcher> logger) : GrainWatcher<ICaObserver>(grains, logger, TimeSpan.FromSeconds(30)), ICaObserver
{
    private string TrustDomain => trustDomain.Value.TrustDomain;

    public async Task OnCaChangedAsync(long sequence)
    {
        var set = await store.ReloadAsync(TrustDomain);
        Install(set);
        LogReloaded(logger, TrustDomain, set.Sequence, set.Roots.Count);
    }

    protected override async Task RenewAsync(ICaObserver reference)
    {
        var authority = Grains.Authority(TrustDomain);
        var sequence = await authority.WatchAsync(reference);
        if (sequence != (await store.GetAsync(TrustDomain)).Sequence)
        {
            await OnCaChangedAsync(sequence);
        }
        await authority.MaintainAsync();
    }

    private void Install(CaSet set)
    {
        if (identity.IsReady && set.Sequence > 0)
        {
            identity.Set(identity.Current with { Bundles = TrustBundleSet.FromPem(TrustDomain, set.BundlePem) });
        }
    }

    [LoggerMessage(EventId = 1441, Level = LogLevel.Information, Message = "CA of {TrustDomain} reloaded: bundle sequence {Sequence}, {Roots} roots")]
    private static partial void LogReloaded(ILogger logger, string trustDomain, long sequence, int roots);
}
