using System.Net;
using System.Security.Cryptography.X509Certificates;
using Fabric.Hosting;
using Microsoft.Extensions.Options;

namespace Fabric.Silo.Bootstrap;

/// <summary>
/// The SPIFFE bundle endpoint in the <c>https_web</c> profile (SPIFFE Federation §5.2.1): a listener of its own,
/// served with a Web PKI certificate the operator configures (<c>Fabric:Federation:WebUrl</c>,
/// <c>WebCertificateFile</c>, <c>WebKeyFile</c>, PEM), answering only <c>GET /.well-known/spiffe-bundle</c>. Off unless
/// all three are set. The certificate is read again when its file changes (renewal without a restart).
/// </summary>
internal sealed partial class WebBundleEndpoint(
    BootstrapEndpoints endpoints,
    IConfiguration configuration,
    ILoggerFactory loggerFactory,
    ILogger<WebBundleEndpoint> logger) : OwnListener
{
    private (DateTime Written, X509Certificate2 Certificate)? _loaded;

    public string? Url { get; private set; }

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        var url = configuration["Fabric:Federation:WebUrl"];
        var certificateFile = configuration["Fabric:Federation:WebCertificateFile"];
        var keyFile = configuration["Fabric:Federation:WebKeyFile"];
        if (string.IsNullOrEmpty(url) || string.IsNullOrEmpty(certificateFile) || string.IsNullOrEmpty(keyFile))
        {
            return;
        }
        var configured = new Uri(url);
        if (configured.Scheme != Uri.UriSchemeHttps)
        {
            throw new InvalidOperationException($"Fabric:Federation:WebUrl must be https, not '{url}'.");
        }
        Load(certificateFile, keyFile);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(loggerFactory);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = 0;
            var address = configured.Host == "localhost" ? IPAddress.Loopback : IPAddress.Parse(configured.Host.Trim('[', ']'));
            kestrel.Listen(address, configured.Port, listen => listen.UseHttps(https =>
                https.ServerCertificateSelector = (_, _) => Load(certificateFile, keyFile)));
        });
        App = builder.Build();
        App.MapGet(BootstrapServer.SpiffeBundlePath, (Delegate)endpoints.SpiffeBundleAsync);
        await App.StartAsync(cancellationToken);
        Url = App.Urls.First();
        LogListening(logger, Url);
    }

    private X509Certificate2 Load(string certificateFile, string keyFile)
    {
        var written = File.GetLastWriteTimeUtc(certificateFile);
        if (_loaded is { } loaded && loaded.Written == written)
        {
            return loaded.Certificate;
        }
        var certificate = X509Certificate2.CreateFromPemFile(certificateFile, keyFile);
        _loaded = (written, certificate);
        return certificate;
    }

    [LoggerMessage(EventId = 1452, Level = LogLevel.Information, Message = "SPIFFE bundle endpoint (https_web) listening on {Url}")]
    private static partial void LogListening(ILogger logger, string url);
}
