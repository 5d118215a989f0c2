using System.Diagnostics;
using System.Net;
using Fabric.Bench.Fabric;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Yarp.ReverseProxy.Forwarder;

namespace Fabric.Bench.Baselines;

/// <summary>
/// The plain proxy baseline: Kestrel with mTLS in (client chain to the fabric bundle), YARP's
/// <see cref="IHttpForwarder"/> out over mTLS (its own SVID, upstream chain to the bundle), the same
/// <see cref="SocketsHttpHandler"/> settings the edge uses. No identity, no policy, no splicing, no audit.
/// </summary>
internal sealed class YarpPassthrough(WebApplication app, Uri baseUrl, HttpMessageInvoker invoker) : IAsyncDisposable
{
    public Uri BaseUrl { get; } = baseUrl;

    public static async Task<YarpPassthrough> StartAsync(Svid svid, BenchPki pki, Uri upstream, CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddHttpForwarder();
        builder.WebHost.ConfigureKestrel(kestrel => pki.ListenMutualTls(kestrel, svid, 1024 * 1024 + 1));

        var handler = new SocketsHttpHandler
        {
            UseProxy = false,
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            UseCookies = false,
            EnableMultipleHttp2Connections = true,
            ActivityHeadersPropagator = new ReverseProxyPropagator(DistributedContextPropagator.Current),
            ConnectTimeout = TimeSpan.FromSeconds(10),
        };
        handler.SslOptions.LocalCertificateSelectionCallback = (_, _, _, _, _) => svid.Certificate;
        handler.SslOptions.RemoteCertificateValidationCallback = pki.ValidationCallback;
        var invoker = new HttpMessageInvoker(handler, disposeHandler: true);

        var app = builder.Build();
        var forwarder = app.Services.GetRequiredService<IHttpForwarder>();
        var prefix = upstream.GetLeftPart(UriPartial.Authority);
        app.Run(async context =>
        {
            // A failed forward has already answered 502/504; the baseline keeps no other record.
            _ = await forwarder.SendAsync(context, prefix, invoker);
        });
        await app.StartAsync(cancellationToken);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        return new YarpPassthrough(app, new Uri($"https://localhost:{new Uri(address).Port}"), invoker);
    }

    public async ValueTask DisposeAsync()
    {
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await app.StopAsync(stop.Token);
        await app.DisposeAsync();
        invoker.Dispose();
    }
}
