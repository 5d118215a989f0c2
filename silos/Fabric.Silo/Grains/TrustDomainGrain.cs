using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Fabric.Contracts.Identity;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace Fabric.Silo.Grains;

/// <summary>
/// One federated trust domain (SPIFFE Federation): fetches its bundle from its endpoint, authenticated per profile
/// (<c>https_web</c>: Web PKI; <c>https_spiffe</c>: the endpoint's X509-SVID, with the expected SPIFFE ID, validated
/// with the domain's last good bundle, the bootstrap bundle at first), accepts it only if it parses whole and its
/// <c>spiffe_sequence</c> does not go back, refreshes at its hint clamped to <see cref="MinRefresh"/>–<see cref="MaxRefresh"/>,
/// keeps the last good bundle on every failure (an unreachable endpoint never empties the domain), and pushes each
/// change to edges through the invalidation hub. Bundles of different domains are never merged: each grain holds one.
/// </summary>
public sealed partial class TrustDomainGrain(
    [PersistentState("federation", GrainStorage.Name)] IPersistentState<TrustDomainState> state,
    TimeProvider time,
    IConfiguration configuration,
    ILogger<TrustDomainGrain> logger) : Grain, ITrustDomainGrain
{
    /// <summary>
    /// <c>Fabric:Federation:WebTrustFile</c>: PEM roots that <c>https_web</c> endpoints must chain to instead of the
    /// system's Web PKI store (a private PKI), re-read on every fetch. Host name and serverAuth are checked either way.
    /// </summary>
    public const string WebTrustFileKey = "Fabric:Federation:WebTrustFile";

    public static readonly TimeSpan MinRefresh = TimeSpan.FromSeconds(30);
    public static readonly TimeSpan MaxRefresh = TimeSpan.FromHours(1);
    private static readonly TimeSpan FetchTimeout = TimeSpan.FromSeconds(10);

    private IGrainTimer? _timer;

    /// <summary>The last good bundle, parsed once from <see cref="TrustDomainState.BundleJson"/> (at activation and on each change).</summary>
    private SpiffeBundle? _bundle;

    private string TrustDomain => this.GetPrimaryKeyString();

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _bundle = state.State.BundleJson is { } json ? SpiffeBundle.TryParse(TrustDomain, System.Text.Encoding.UTF8.GetBytes(json), out _) : null;
        if (state.State.Config is not null)
        {
            Schedule(state.State.NextRefresh ?? time.GetUtcNow());
        }
        return Task.CompletedTask;
    }

    public async ValueTask<FederationStatus> ConfigureAsync(FederationConfig config)
    {
        if (!SpiffeId.IsValidTrustDomain(TrustDomain))
        {
            throw new ArgumentException($"'{TrustDomain}' is not a valid trust domain name");
        }
        var changedEndpoint = state.State.Config is not { } old || old != config;
        state.State.Config = config;
        if (changedEndpoint)
        {
            state.State.LastError = null;
        }
        await state.WriteStateAsync();
        await GrainFactory.FederationDirectory().AddAsync(TrustDomain);
        return (await RefreshAsync())!;
    }

    public async ValueTask<bool> RemoveAsync()
    {
        if (state.State.Config is null)
        {
            return false;
        }
        await state.ClearStateAsync();
        state.State = new TrustDomainState();
        _bundle = null;
        _timer?.Dispose();
        await GrainFactory.FederationDirectory().RemoveAsync(TrustDomain);
        await GrainFactory.Hub().PublishAsync(new Invalidation(InvalidationKind.Bundle, TrustDomain, 0));
        return true;
    }

    public ValueTask<FederationStatus?> GetStatusAsync() => ValueTask.FromResult(Status());

    public ValueTask<FederatedBundle?> GetBundleAsync() => ValueTask.FromResult(
        state.State.Config is not null && _bundle is { } bundle
            ? new FederatedBundle(TrustDomain, bundle.Sequence, bundle.X509Pem, bundle.JwtAuthorities)
            : null);

    public async ValueTask<FederationStatus?> RefreshAsync()
    {
        if (state.State.Config is not { } config)
        {
            return null;
        }
        var now = time.GetUtcNow();
        var (bundle, json, error) = await FetchAsync(config);
        TimeSpan next;
        if (bundle is not null && state.State.Sequence is { } known && bundle.Sequence < known)
        {
            error = $"refused: spiffe_sequence went backwards from {known} to {bundle.Sequence}; the last good bundle is kept";
            bundle = null;
        }
        if (bundle is null)
        {
            state.State.LastError = error;
            next = MinRefresh;
            LogFetchFailed(logger, TrustDomain, error ?? "unknown");
        }
        else
        {
            var changed = state.State.BundleJson != json;
            state.State.BundleJson = json;
            _bundle = bundle;
            state.State.Sequence = bundle.Sequence;
            state.State.LastRefresh = now;
            state.State.LastError = null;
            next = Clamp(bundle.RefreshHint ?? TimeSpan.FromMinutes(5));
            if (changed)
            {
                await state.WriteStateAsync();
                await GrainFactory.Hub().PublishAsync(new Invalidation(InvalidationKind.Bundle, TrustDomain, bundle.Sequence));
                LogInstalled(logger, TrustDomain, bundle.Sequence, bundle.X509Authorities.Count, bundle.JwtAuthorities.Count);
            }
        }
        state.State.NextRefresh = now + next;
        await state.WriteStateAsync();
        Schedule(now + next);
        return Status();
    }

    private async Task<(SpiffeBundle? Bundle, string? Json, string? Error)> FetchAsync(FederationConfig config)
    {
        var trustedRoots = _bundle is { } good
            ? [.. good.X509Authorities]
            : config.BootstrapBundlePem is { } pem ? SvidPem.LoadCertificates(pem) : new X509Certificate2Collection();
        using var handler = new SocketsHttpHandler { ConnectTimeout = FetchTimeout, AllowAutoRedirect = false, UseProxy = false };
        if (config.Profile == FederationProfile.HttpsSpiffe)
        {
            var expected = SpiffeId.Parse(config.EndpointSpiffeId!);
            var bundles = trustedRoots.Count == 0 ? TrustBundleSet.Empty : TrustBundleSet.Empty.With(TrustDomain, trustedRoots);
            handler.SslOptions = new SslClientAuthenticationOptions
            {
                // https_spiffe: the endpoint's SVID, its exact SPIFFE ID, chained to the domain's own bundle; no Web PKI.
                RemoteCertificateValidationCallback = (_, certificate, _, _) => certificate is X509Certificate2 leaf
                    && X509SvidValidator.ValidateExpected(leaf, null, bundles, time.GetUtcNow(), expected).IsValid,
            };
        }
        else if (configuration[WebTrustFileKey] is { Length: > 0 } trustFile)
        {
            X509Certificate2Collection webRoots;
            try
            {
                webRoots = SvidPem.LoadCertificates(await File.ReadAllTextAsync(trustFile));
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException)
            {
                return (null, null, $"{WebTrustFileKey} could not be read: {ex.Message}");
            }
            handler.SslOptions = new SslClientAuthenticationOptions
            {
                // https_web against the configured roots only: the host name must match and the chain allow serverAuth.
                RemoteCertificateValidationCallback = (_, certificate, chain, errors) =>
                    CustomRootTrust.IsTrustedServer(certificate, chain, errors, webRoots, CustomRootTrust.ServerAuth),
            };
        }
        using var http = new HttpClient(handler) { Timeout = FetchTimeout };
        try
        {
            using var response = await http.GetAsync(config.BundleEndpointUrl, HttpCompletionOption.ResponseHeadersRead);
            if (!response.IsSuccessStatusCode)
            {
                return (null, null, $"the bundle endpoint answered {(int)response.StatusCode}");
            }
            await using var body = await response.Content.ReadAsStreamAsync();
            var buffer = new byte[SpiffeBundle.MaxDocumentBytes + 1];
            var read = 0;
            int n;
            while (read < buffer.Length && (n = await body.ReadAsync(buffer.AsMemory(read))) > 0)
            {
                read += n;
            }
            var bundle = SpiffeBundle.TryParse(TrustDomain, buffer.AsSpan(0, read), out var error);
            return bundle is null ? (null, null, error) : (bundle, System.Text.Encoding.UTF8.GetString(buffer, 0, read), null);
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or IOException)
        {
            return (null, null, $"the bundle endpoint could not be read: {ex.Message}");
        }
    }

    private void Schedule(DateTimeOffset at)
    {
        _timer?.Dispose();
        var due = at - time.GetUtcNow();
        _timer = this.RegisterGrainTimer(async _ => await RefreshAsync(), new GrainTimerCreationOptions(due > TimeSpan.Zero ? due : TimeSpan.Zero, Timeout.InfiniteTimeSpan) { KeepAlive = true });
    }

    private static TimeSpan Clamp(TimeSpan hint) => hint < MinRefresh ? MinRefresh : hint > MaxRefresh ? MaxRefresh : hint;

    private FederationStatus? Status()
    {
        if (state.State.Config is not { } config)
        {
            return null;
        }
        var bundle = _bundle;
        return new FederationStatus(TrustDomain, config.BundleEndpointUrl, config.Profile == FederationProfile.HttpsSpiffe ? "https_spiffe" : "https_web",
            state.State.Sequence, state.State.LastRefresh, state.State.NextRefresh, state.State.LastError,
            bundle?.X509Authorities.Count ?? 0, bundle?.JwtAuthorities.Count ?? 0,
            // What was configured, as it was PUT (public CA certificates, no secret): export writes it back unchanged.
            config.EndpointSpiffeId, config.BootstrapBundlePem);
    }

    [LoggerMessage(EventId = 1450, Level = LogLevel.Information, Message = "Federated bundle of {TrustDomain} installed: sequence {Sequence}, {X509} X.509 and {Jwt} JWT authorities")]
    private static partial void LogInstalled(ILogger logger, string trustDomain, long sequence, int x509, int jwt);

    [LoggerMessage(EventId = 1451, Level = LogLevel.Warning, Message = "Fetching the bundle of {TrustDomain} failed, the last good one is kept: {Error}")]
    private static partial void LogFetchFailed(ILogger logger, string trustDomain, string error);
}

[GenerateSerializer, Alias("fabric.trust-domain-state")]
public sealed class TrustDomainState
{
    [Id(0)] public FederationConfig? Config { get; set; }
    [Id(1)] public string? BundleJson { get; set; }
    [Id(2)] public long? Sequence { get; set; }
    [Id(3)] public DateTimeOffset? LastRefresh { get; set; }
    [Id(4)] public DateTimeOffset? NextRefresh { get; set; }
    [Id(5)] public string? LastError { get; set; }
}

public sealed class FederationDirectoryGrain(
    [PersistentState("federation-directory", GrainStorage.Name)] IPersistentState<FederationDirectoryState> state) : Grain, IFederationDirectoryGrain
{
    public async ValueTask AddAsync(string trustDomain)
    {
        if (state.State.TrustDomains.Add(trustDomain))
        {
            await state.WriteStateAsync();
        }
    }

    public async ValueTask RemoveAsync(string trustDomain)
    {
        if (state.State.TrustDomains.Remove(trustDomain))
        {
            await state.WriteStateAsync();
        }
    }

    public ValueTask<IReadOnlyList<string>> ListAsync() =>
        ValueTask.FromResult<IReadOnlyList<string>>([.. state.State.TrustDomains.Order(StringComparer.Ordinal)]);
}

[GenerateSerializer, Alias("fabric.federation-directory-state")]
public sealed class FederationDirectoryState
{
    [Id(0)] public HashSet<string> TrustDomains { get; set; } = new(StringComparer.Ordinal);
}
