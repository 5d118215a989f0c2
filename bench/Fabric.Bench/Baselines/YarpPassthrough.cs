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

    public static async Task<YarpPassthrough> StartAsync(Svid svid, BenchPki pki, Uri upstream, CancellationToken cancellationToken, int port = 0)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddHttpForwarder();
        builder.WebHost.ConfigureKestrel(kestrel => pki.ListenMutualTls(kestrel, svid, 1024 * 1024 + 1, port: port));

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

    /// <summary>The files <see cref="ServeAsync"/> reads from its directory: the SVID, its key, the bundle (written 0600).</summary>
    public static void WriteFiles(string directory, Svid svid, BenchPki pki)
    {
        Directory.CreateDirectory(directory);
        foreach (var (name, text) in (ReadOnlySpan<(string, string)>)[("svid.pem", svid.CertificatePem), ("svid-key.pem", svid.PrivateKeyPem), ("bundle.pem", pki.BundlePem)])
        {
            var path = Path.Combine(directory, name);
            File.WriteAllText(path, text);
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }
        }
    }

    /// <summary>
    /// The baseline in a process of its own (<c>--serve-yarp &lt;upstream&gt; &lt;directory&gt; &lt;port&gt;</c>, for
    /// <c>--pinned</c>): the same passthrough, from the files <see cref="WriteFiles"/> wrote, until its stdin closes.
    /// </summary>
    public static async Task ServeAsync(Uri upstream, string directory, int port)
    {
        var bundlePem = await File.ReadAllTextAsync(Path.Combine(directory, "bundle.pem"));
        var certificatePem = await File.ReadAllTextAsync(Path.Combine(directory, "svid.pem"));
        var keyPem = await File.ReadAllTextAsync(Path.Combine(directory, "svid-key.pem"));
        var pki = new BenchPki(global::Fabric.Contracts.Identity.SvidPem.LoadCertificates(bundlePem), bundlePem);
        var svid = new Svid("yarp", global::Fabric.Contracts.Identity.SvidPem.LoadCertificate(certificatePem, keyPem), certificatePem, keyPem);
        await using var yarp = await StartAsync(svid, pki, upstream, CancellationToken.None, port);
        Console.Out.WriteLine("READY " + yarp.BaseUrl);
        await Console.In.ReadToEndAsync();
    }

    public async ValueTask DisposeAsync()
    {
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await app.StopAsync(stop.Token);
        await app.DisposeAsync();
        invoker.Dispose();
    }
}
