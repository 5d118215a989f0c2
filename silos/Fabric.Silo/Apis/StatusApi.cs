using Fabric.Silo.Secrets;

namespace Fabric.Silo.Apis;

/// <summary>
/// <c>GET /v1/status</c>: the cluster's silos (Orleans membership) and the health of every configured secret source,
/// what <c>fabric status</c> and the console's overview show beside the edges and the CA.
/// </summary>
internal static class StatusApi
{
    public sealed record SiloInfo(string Name, string Address, string Status, DateTimeOffset StartedAt, DateTimeOffset LastAlive);

    public sealed record FabricStatus(IReadOnlyList<SiloInfo> Silos, IReadOnlyList<SecretSourceHealth> SecretSources);

    public static void MapStatusApi(this RouteGroupBuilder v1) =>
        v1.MapGet("/status", GetStatus)
            .WithName(nameof(GetStatus))
            .WithSummary("The cluster's silos and the health of every secret source");

    private static async Task<Microsoft.AspNetCore.Http.HttpResults.Ok<FabricStatus>> GetStatus(
        IGrainFactory grains, SecretSourceRegistry sources, CancellationToken cancellationToken)
    {
        var hosts = await grains.GetGrain<IManagementGrain>(0).GetDetailedHosts(onlyActive: true, cancellationToken);
        var silos = hosts
            .OrderBy(h => h.SiloName, StringComparer.Ordinal)
            .Select(h => new SiloInfo(h.SiloName, h.SiloAddress.ToParsableString(), h.Status.ToString(), h.StartTime, h.IAmAliveTime))
            .ToList();
        var health = await Task.WhenAll(sources.All.Select(s => SecretSourcesHealthCheck.CheckAsync(s, cancellationToken)));
        return TypedResults.Ok(new FabricStatus(silos, [.. health.OrderBy(h => h.Source, StringComparer.Ordinal)]));
    }
}
