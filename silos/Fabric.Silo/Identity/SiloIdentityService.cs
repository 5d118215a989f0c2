using Fabric.Contracts.Identity;
using Fabric.Hosting;
using Microsoft.Extensions.Options;

namespace Fabric.Silo.Identity;

/// <summary>The silo's own settings (section <c>Fabric:Silo</c>).</summary>
public sealed class SiloNodeOptions
{
    /// <summary>
    /// The silo's name: its SVID is <c>spiffe://&lt;td&gt;/fabric/silo/&lt;name&gt;</c>. Default: the host name
    /// (lower-cased, reduced to letters, digits and '-') and the silo port, unique per machine.
    /// </summary>
    public string? Name { get; set; }

    /// <summary>Lifetime of the silo's SVID; it renews at two thirds, without a restart.</summary>
    public TimeSpan SvidTtl { get; set; } = TimeSpan.FromHours(24);

    public string ResolveName(int siloPort)
    {
        if (Name is { Length: > 0 } configured)
        {
            return FabricNodes.IsValidName(configured)
                ? configured
                : throw new InvalidOperationException($"Fabric:Silo:Name '{configured}' is not a valid node name: lower-case letters, digits and '-', at most {FabricNodes.MaxNameLength}.");
        }
        var host = new string([.. Environment.MachineName.ToLowerInvariant().Select(c => char.IsAsciiLetterOrDigit(c) ? c : '-')]).Trim('-');
        var name = $"{(host.Length == 0 ? "silo" : host)}-{siloPort}";
        return name.Length <= FabricNodes.MaxNameLength ? name : name[^FabricNodes.MaxNameLength..].TrimStart('-');
    }
}

/// <summary>
/// Gives the silo its SVID (<c>spiffe://&lt;td&gt;/fabric/silo/&lt;name&gt;</c>) from the cluster's CA material
/// before Orleans opens a link (registered ahead of the silo, so its StartAsync completes first), and renews
/// it at two thirds of its lifetime. Every Orleans link handshake reads the current one.
/// </summary>
internal sealed partial class SiloIdentityService(
    CaStore store,
    NodeIdentity identity,
    IOptions<TrustDomainOptions> trustDomain,
    IOptions<SiloNodeOptions> options,
    IConfiguration configuration,
    TimeProvider time,
    ILogger<SiloIdentityService> logger) : BackgroundService
{
    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        await IssueAsync(cancellationToken);
        await base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            var wait = identity.Current.ExpiresAt - (options.Value.SvidTtl / 3) - time.GetUtcNow();
            try
            {
                await Task.Delay(wait > TimeSpan.FromSeconds(1) ? wait : TimeSpan.FromSeconds(1), time, stoppingToken);
                await IssueAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogRenewFailed(logger, ex.Message);
            }
        }
    }

    private async Task IssueAsync(CancellationToken cancellationToken)
    {
        var td = trustDomain.Value.TrustDomain;
        var cluster = ClusterSettings.Read(configuration);
        var id = FabricNodes.Id(td, FabricRole.Silo, options.Value.ResolveName(cluster.SiloPort));
        var ca = await store.GetOrCreateAsync(td, cancellationToken);
        string[] addresses = cluster.IsRedis && cluster.AdvertisedAddress().ToString() != "127.0.0.1"
            ? ["127.0.0.1", cluster.AdvertisedAddress().ToString()]
            : ["127.0.0.1"];
        var issued = SvidIssuer.Issue(ca, new SvidRequest(id.ToString(), options.Value.SvidTtl, ["localhost"], addresses), time.GetUtcNow());
        await store.RecordLeafAsync(td, ca.CertificatePem, issued.ExpiresAt, cancellationToken);
        identity.Set(new NodeIdentity.Snapshot(
            id,
            SvidPem.LoadCertificate(issued.CertificatePem, issued.PrivateKeyPem),
            TrustBundleSet.FromPem(td, issued.BundlePem),
            issued.ExpiresAt));
        LogIssued(logger, id.ToString(), issued.ExpiresAt);
    }

    [LoggerMessage(EventId = 1401, Level = LogLevel.Information, Message = "Silo SVID {SpiffeId} issued, valid until {ExpiresAt:O}")]
    private static partial void LogIssued(ILogger logger, string spiffeId, DateTimeOffset expiresAt);

    [LoggerMessage(EventId = 1402, Level = LogLevel.Warning, Message = "Renewing the silo SVID failed: {Error}")]
    private static partial void LogRenewFailed(ILogger logger, string error);
}
