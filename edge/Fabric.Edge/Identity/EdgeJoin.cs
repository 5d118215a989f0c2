using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Fabric.Edge.Hosting;
using Fabric.Hosting;
using Microsoft.Extensions.Options;

namespace Fabric.Edge.Identity;

/// <summary>
/// Gets the edge its SVID by node attestation before anything else starts (registered ahead of the Orleans
/// client and Kestrel, so its StartAsync completes first: no Orleans link and no agent handshake without it),
/// renews it over mTLS at two thirds of its lifetime, and refreshes the bundle on a push.
/// <para>
/// A configured token that is refused stops the edge from starting, with the reason: retrying a used or
/// expired token cannot succeed. A join file is re-read and retried on every attempt: whoever writes it (the silo, for the local file) replaces a used one.
/// </para>
/// </summary>
internal sealed partial class EdgeJoin(
    NodeIdentity identity,
    JwtAuthorities jwt,
    IServiceProvider services,
    IOptions<EdgeOptions> edgeOptions,
    IOptions<EdgeJoinOptions> joinOptions,
    IConfiguration configuration,
    TimeProvider time,
    ILogger<EdgeJoin> logger) : BackgroundService
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private Uri? _bootstrap;
    private DateTimeOffset _issuedAt;
    private readonly Lock _bundleLock = new();
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, long> _sequences = new(StringComparer.Ordinal);

    private string TrustDomain => configuration["Fabric:TrustDomain"] ?? "fabric.local";

    public string OwnTrustDomain => TrustDomain;

    /// <summary>True once this edge learned it is revoked: it renews no more.</summary>
    public bool Revoked { get; private set; }

    public string JoinFile => joinOptions.Value.File is { Length: > 0 } file
        ? file
        : Path.Combine(DataDirectory.Resolve(configuration), EdgeBootstrap.LocalJoinFileName);

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        var edge = edgeOptions.Value;
        if (!FabricNodes.IsValidName(edge.Name))
        {
            throw new InvalidOperationException($"Fabric:Edge:Name '{edge.Name}' is not a valid edge name: lower-case letters, digits and '-', at most {FabricNodes.MaxNameLength}.");
        }
        var delay = TimeSpan.FromMilliseconds(200);
        while (true)
        {
            var (document, fromFile) = ReadJoinDocument();
            try
            {
                if (document is not null)
                {
                    var issued = await BootstrapClient.JoinAsync(document, edge.Name, edge.DnsNames, edge.IpAddresses, time, cancellationToken);
                    _bootstrap = new Uri(document.BootstrapUrl);
                    Install(issued);
                    break;
                }
                LogWaitingForFile(logger, JoinFile);
            }
            catch (BootstrapClient.RefusedException ex) when (!fromFile)
            {
                throw new InvalidOperationException($"The edge '{edge.Name}' could not join: {ex.Message}", ex);
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or BootstrapClient.RefusedException or IOException or JsonException
                && !cancellationToken.IsCancellationRequested)
            {
                LogJoinRetry(logger, ex.Message);
            }
            await Task.Delay(delay, time, cancellationToken);
            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(5).Ticks));
        }
        await base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested && !Revoked)
        {
            // Two thirds into the lifetime as granted (notBefore is backdated for clock skew, so not from the certificate).
            var current = identity.Current;
            var wait = _issuedAt + ((current.ExpiresAt - _issuedAt) * 2 / 3) - time.GetUtcNow();
            try
            {
                await Task.Delay(wait > TimeSpan.FromSeconds(1) ? wait : TimeSpan.FromSeconds(1), time, stoppingToken);
                var edge = edgeOptions.Value;
                Install(await BootstrapClient.RenewAsync(_bootstrap!, identity.Current, edge.DnsNames, edge.IpAddresses, time, stoppingToken));
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (BootstrapClient.RefusedException ex) when (ex.Reason == "edge-revoked")
            {
                Revoked = true;
                LogRevoked(logger, ex.Message);
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or BootstrapClient.RefusedException or InvalidOperationException)
            {
                LogRenewFailed(logger, ex.Message);
            }
        }
    }

    /// <summary>
    /// Re-reads the trust bundle (after a bundle push, <paramref name="atLeast"/> its sequence) and keeps the current
    /// SVID. A bundle older than the one installed is ignored: the sequence only grows.
    /// </summary>
    public async Task RefreshBundleAsync(long atLeast = 0)
    {
        var bundle = await services.GetRequiredService<IClusterClient>().Authority(TrustDomain).GetBundleAsync();
        lock (_bundleLock)
        {
            if (!TryInstall(TrustDomain, bundle.Sequence, atLeast, SvidPem.LoadCertificates(bundle.Pem), bundle.JwtKeys))
            {
                LogStaleBundle(logger, bundle.Sequence, Math.Max(SequenceOf(TrustDomain) ?? 0, atLeast));
                return;
            }
        }
        LogBundle(logger, bundle.Sequence);
    }

    /// <summary>The sequence of the bundle installed for <paramref name="trustDomain"/> (own or federated), for the audit.</summary>
    public long? SequenceOf(string trustDomain) => _sequences.TryGetValue(trustDomain, out var sequence) ? sequence : null;

    /// <summary>
    /// Installs (or drops) the bundle of a federated trust domain, next to, never merged into, the others: an SVID is
    /// validated against its own domain's bundle only.
    /// </summary>
    public async Task RefreshFederatedAsync(string trustDomain)
    {
        if (trustDomain == TrustDomain)
        {
            return;
        }
        var bundle = await services.GetRequiredService<IClusterClient>().Federation(trustDomain).GetBundleAsync();
        lock (_bundleLock)
        {
            if (bundle is null || SvidPem.LoadCertificates(bundle.X509Pem) is not { Count: > 0 } roots)
            {
                _sequences.TryRemove(trustDomain, out _);
                identity.Set(identity.Current with { Bundles = identity.Current.Bundles.Without(trustDomain) });
                jwt.Set(jwt.Current.Without(trustDomain));
                LogFederated(logger, trustDomain, 0);
                return;
            }
            if (!TryInstall(trustDomain, bundle.Sequence, atLeast: 0, roots, bundle.JwtKeys))
            {
                return;
            }
        }
        LogFederated(logger, trustDomain, bundle.Sequence);
    }

    /// <summary>
    /// Under <see cref="_bundleLock"/>: installs one trust domain's roots and JWT keys in place of its previous ones,
    /// beside every other domain's, unless <paramref name="sequence"/> is older than the installed one (or <paramref name="atLeast"/>).
    /// </summary>
    private bool TryInstall(string trustDomain, long sequence, long atLeast, X509Certificate2Collection roots, IReadOnlyList<JwtKey> jwtKeys)
    {
        if (sequence < Math.Max(SequenceOf(trustDomain) ?? 0, atLeast))
        {
            return false;
        }
        _sequences[trustDomain] = sequence;
        identity.Set(identity.Current with { Bundles = identity.Current.Bundles.With(trustDomain, roots) });
        jwt.Set(jwt.Current.With(trustDomain, jwtKeys));
        return true;
    }

    /// <summary>Installs every federated domain's bundle (at start, and after a gap in the subscription).</summary>
    public async Task RefreshAllFederatedAsync()
    {
        foreach (var trustDomain in await services.GetRequiredService<IClusterClient>().FederationDirectory().ListAsync())
        {
            await RefreshFederatedAsync(trustDomain);
        }
    }

    /// <summary>Renews the SVID now (after a CA rotation, so the edge chains to the new root without waiting for two thirds).</summary>
    public async Task RenewNowAsync(CancellationToken cancellationToken = default)
    {
        var edge = edgeOptions.Value;
        Install(await BootstrapClient.RenewAsync(_bootstrap!, identity.Current, edge.DnsNames, edge.IpAddresses, time, cancellationToken));
    }

    private (JoinDocument? Document, bool FromFile) ReadJoinDocument()
    {
        var join = joinOptions.Value;
        if (join.Token is { Length: > 0 } token)
        {
            if (string.IsNullOrWhiteSpace(join.BootstrapUrl) || string.IsNullOrWhiteSpace(join.CaSha256))
            {
                throw new InvalidOperationException($"{EdgeJoinOptions.Section}:Token needs {EdgeJoinOptions.Section}:BootstrapUrl and {EdgeJoinOptions.Section}:CaSha256 (both in the answer of POST /v1/join-tokens).");
            }
            return (new JoinDocument("", token, null, DateTimeOffset.MaxValue, TrustDomain, join.BootstrapUrl, join.CaSha256), false);
        }
        if (!File.Exists(JoinFile))
        {
            return (null, true);
        }
        var document = JsonSerializer.Deserialize<JoinDocument>(File.ReadAllText(JoinFile), Json);
        return (document, true);
    }

    private void Install(BootstrapClient.Issued issued)
    {
        _issuedAt = time.GetUtcNow();
        identity.Set(new NodeIdentity.Snapshot(issued.Id, issued.Certificate, issued.Bundles, issued.ExpiresAt));
        LogIssued(logger, issued.Id.ToString(), issued.ExpiresAt);
    }

    [LoggerMessage(EventId = 2001, Level = LogLevel.Information, Message = "Edge SVID {SpiffeId} granted, valid until {ExpiresAt:O}")]
    private static partial void LogIssued(ILogger logger, string spiffeId, DateTimeOffset expiresAt);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Information, Message = "Waiting for a join document at {Path}")]
    private static partial void LogWaitingForFile(ILogger logger, string path);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Warning, Message = "Renewing the edge SVID failed: {Error}")]
    private static partial void LogRenewFailed(ILogger logger, string error);

    [LoggerMessage(EventId = 2004, Level = LogLevel.Information, Message = "Joining the cluster failed, retrying: {Error}")]
    private static partial void LogJoinRetry(ILogger logger, string error);

    [LoggerMessage(EventId = 2008, Level = LogLevel.Information, Message = "Federated bundle of {TrustDomain} installed: sequence {Sequence} (0: removed)")]
    private static partial void LogFederated(ILogger logger, string trustDomain, long sequence);

    [LoggerMessage(EventId = 2006, Level = LogLevel.Information, Message = "Trust bundle sequence {Sequence} installed")]
    private static partial void LogBundle(ILogger logger, long sequence);

    [LoggerMessage(EventId = 2007, Level = LogLevel.Warning, Message = "Ignored a trust bundle with sequence {Sequence}: {Known} or newer is known")]
    private static partial void LogStaleBundle(ILogger logger, long sequence, long known);

    [LoggerMessage(EventId = 2005, Level = LogLevel.Error, Message = "This edge is revoked; it will not renew its SVID: {Error}")]
    private static partial void LogRevoked(ILogger logger, string error);
}
