using Fabric.Hosting;
using Fabric.Edge.Hosting;
using Microsoft.Extensions.Options;

namespace Fabric.Edge.Identity;

/// <summary>
/// Obtains the edge's SVID and the trust bundle from the cluster's CA before Kestrel starts (this
/// hosted service is registered before the web server, so StartAsync completes first), then renews
/// the SVID at two thirds of its lifetime and refreshes the bundle on the same beat.
/// </summary>
internal sealed partial class EdgeIdentityBootstrapper(
    IClusterClient cluster,
    EdgeIdentity identity,
    IOptions<EdgeOptions> options,
    IConfiguration configuration,
    TimeProvider time,
    ILogger<EdgeIdentityBootstrapper> logger) : BackgroundService
{
    private string TrustDomain => configuration["Fabric:TrustDomain"] ?? "fabric.local";

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        var delay = TimeSpan.FromMilliseconds(200);
        while (true)
        {
            try
            {
                await RefreshAsync();
                break;
            }
            catch (Exception ex) when (ClusterCalls.IsClusterFault(ex) && !cancellationToken.IsCancellationRequested)
            {
                LogWaiting(logger, ex.Message);
                await Task.Delay(delay, time, cancellationToken);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(5).Ticks));
            }
        }
        await base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            var current = identity.Current;
            var renewAt = current.ExpiresAt - (options.Value.SvidTtl / 3);
            var wait = renewAt - time.GetUtcNow();
            try
            {
                await Task.Delay(wait > TimeSpan.FromSeconds(1) ? wait : TimeSpan.FromSeconds(1), time, stoppingToken);
                await RefreshAsync();
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ClusterCalls.IsClusterFault(ex))
            {
                LogRenewFailed(logger, ex.Message);
            }
        }
    }

    /// <summary>Re-reads the trust bundle (after a bundle push) and keeps the current SVID.</summary>
    public async Task RefreshBundleAsync()
    {
        var current = identity.Current;
        var pem = await cluster.Authority(TrustDomain).GetBundlePemAsync();
        identity.Set(current with { Bundles = TrustBundleSet.FromPem(TrustDomain, pem) });
    }

    private async Task RefreshAsync()
    {
        var edge = options.Value;
        var id = SpiffeId.FromParts(TrustDomain, "fabric/edge/" + edge.Name);
        var authority = cluster.Authority(TrustDomain);
        var issued = await authority.IssueAsync(new SvidRequest(id.ToString(), edge.SvidTtl, edge.DnsNames, edge.IpAddresses));
        var bundles = TrustBundleSet.FromPem(TrustDomain, issued.BundlePem);
        identity.Set(new EdgeIdentity.Snapshot(id, SvidPem.LoadCertificate(issued.CertificatePem, issued.PrivateKeyPem), bundles, issued.ExpiresAt));
        LogIssued(logger, id.ToString(), issued.ExpiresAt);
    }

    [LoggerMessage(EventId = 2001, Level = LogLevel.Information, Message = "Edge SVID {SpiffeId} issued, valid until {ExpiresAt:O}")]
    private static partial void LogIssued(ILogger logger, string spiffeId, DateTimeOffset expiresAt);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Information, Message = "Waiting for the cluster's CA: {Error}")]
    private static partial void LogWaiting(ILogger logger, string error);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Warning, Message = "Renewing the edge SVID failed: {Error}")]
    private static partial void LogRenewFailed(ILogger logger, string error);
}
