using Fabric.Contracts.Identity;
using Microsoft.Extensions.Options;

namespace Fabric.Silo.Identity;

/// <summary>
/// Keeps this silo's <see cref="LinkPeers"/> in step with the edge registry: refuses every revoked edge named in
/// each resync (every 10 s), and a newly revoked edge the moment the registry announces it, which also aborts
/// that edge's open gateway links.
/// </summary>
internal sealed partial class EdgeRevocationWatcher(
    IGrainFactory grains,
    LinkPeers peers,
    IOptions<TrustDomainOptions> trustDomain,
    ILogger<EdgeRevocationWatcher> logger) : GrainWatcher<IEdgeRevocationObserver>(grains, logger, TimeSpan.FromSeconds(10)), IEdgeRevocationObserver
{
    public Task OnEdgeRevokedAsync(string edgeName)
    {
        if (FabricNodes.IsValidName(edgeName))
        {
            var aborted = peers.Refuse(FabricNodes.Id(trustDomain.Value.TrustDomain, FabricRole.Edge, edgeName));
            LogRefused(logger, edgeName, aborted);
        }
        return Task.CompletedTask;
    }

    protected override async Task RenewAsync(IEdgeRevocationObserver reference)
    {
        var revoked = await Grains.Edges().WatchAsync(reference);
        peers.RefuseAll(revoked.Where(FabricNodes.IsValidName)
            .Select(name => FabricNodes.Id(trustDomain.Value.TrustDomain, FabricRole.Edge, name)));
    }

    [LoggerMessage(EventId = 1420, Level = LogLevel.Warning, Message = "Edge {EdgeName} is revoked: its handshakes are refused, {Aborted} open links aborted")]
    private static partial void LogRefused(ILogger logger, string edgeName, int aborted);
}
