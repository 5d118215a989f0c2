using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Fabric.Contracts.Identity;
using Fabric.Hosting;
using Fabric.Silo.Apis;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.Options;

namespace Fabric.Silo.Bootstrap;

/// <summary>
/// The HTTPS bootstrap endpoint on the silo host, a Kestrel server of its own (its own port, nothing else on
/// it: no management API, no admin token). It serves the silo's SVID together with the root, so an edge
/// that knows only the CA pin can check it is talking to a silo of the right cluster before it sends its
/// token; it asks for a client certificate (optional: a join has none, a renewal presents the edge's SVID,
/// validated by <see cref="BootstrapEndpoints"/>). Started after the Orleans silo, stopped before it.
/// </summary>
internal sealed partial class BootstrapServer(
    IServiceProvider services,
    NodeIdentity identity,
    JoinTokenIssuer issuer,
    IOptions<BootstrapOptions> options,
    ILoggerFactory loggerFactory,
    TimeProvider time,
    ILogger<BootstrapServer> logger) : OwnListener
{
    public const string SpiffeBundlePath = "/.well-known/spiffe-bundle";

    private (NodeIdentity.Snapshot Snapshot, SslStreamCertificateContext Context)? _served;

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        var configured = new Uri(options.Value.Url);
        if (configured.Scheme != Uri.UriSchemeHttps)
        {
            throw new InvalidOperationException($"{BootstrapOptions.Section}:Url must be https, not '{options.Value.Url}'.");
        }
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(loggerFactory);
        builder.Services.AddProblemDetails();
        builder.Services.ConfigureHttpJsonOptions(o => FabricApi.ConfigureJson(o.SerializerOptions));
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = EdgeBootstrap.MaxBodyBytes;
            kestrel.Limits.MaxRequestHeadersTotalSize = 16 * 1024;
            var https = new TlsHandshakeCallbackOptions { OnConnection = _ => ValueTask.FromResult(ServerOptions()), HandshakeTimeout = TimeSpan.FromSeconds(5) };
            if (configured.IsLoopback && configured.Host == "localhost")
            {
                kestrel.ListenLocalhost(configured.Port, listen => listen.UseHttps(https));
            }
            else
            {
                kestrel.Listen(IPAddress.Parse(configured.Host.Trim('[', ']')), configured.Port, listen => listen.UseHttps(https));
            }
        });
        App = builder.Build();
        var endpoints = services.GetRequiredService<BootstrapEndpoints>();
        App.MapPost(EdgeBootstrap.JoinPath, (Delegate)endpoints.JoinAsync);
        App.MapPost(EdgeBootstrap.RenewPath, (Delegate)endpoints.RenewAsync);
        App.MapGet(EdgeBootstrap.BundlePath, (Delegate)endpoints.Bundle);
        // The SPIFFE bundle endpoint (Federation, https_spiffe profile: this listener serves the silo's SVID).
        App.MapGet(SpiffeBundlePath, (Delegate)endpoints.SpiffeBundleAsync);
        await App.StartAsync(cancellationToken);

        var bound = new Uri(App.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        issuer.BootstrapUrl = options.Value.AdvertisedUrl is { Length: > 0 } advertised
            ? advertised
            : new UriBuilder(configured) { Port = bound.Port }.Uri.GetLeftPart(UriPartial.Authority);
        LogListening(logger, issuer.BootstrapUrl);
        await services.GetRequiredService<LocalJoinFile>().StartAsync(cancellationToken);
    }

    private SslServerAuthenticationOptions ServerOptions()
    {
        var current = identity.Current;
        var served = _served;
        if (served is null || !ReferenceEquals(served.Value.Snapshot, current))
        {
            // The root travels with the leaf: the edge checks it against its pin, then the leaf against it.
            current.Bundles.TryGet(current.Id.TrustDomain, out var roots);
            served = (current, SslStreamCertificateContext.Create(current.Certificate, roots, offline: true));
            _served = served;
        }
        return new SslServerAuthenticationOptions
        {
            ServerCertificateContext = served.Value.Context,
            // Asked for, not required: a join comes without one. One that comes must be a valid SVID of this
            // trust domain (the renewal handler checks it is an edge's); anything else fails the handshake.
            ClientCertificateRequired = true,
            RemoteCertificateValidationCallback = (_, certificate, _, _) => certificate is null
                || X509SvidValidator.Validate(certificate as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(certificate.GetRawCertData()), null, current.Bundles, time.GetUtcNow()).IsValid,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
        };
    }

    [LoggerMessage(EventId = 1432, Level = LogLevel.Information, Message = "Edge bootstrap endpoint listening on {Url}")]
    private static partial void LogListening(ILogger logger, string url);
}
