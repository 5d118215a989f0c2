using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Fabric.Edge.Tests.Fixtures;

/// <summary>
/// An upstream that does whatever the test tells it to, on real Kestrel (loopback, port 0, HTTP/1.1 and h2c):
/// echo the request headers back, mislabel a list answer, hand out another agent's session id, stream without
/// end. It records every request it receives (headers and body) before answering, so a test can prove what
/// the edge did or did not forward.
/// </summary>
public sealed class HostileUpstream : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<ReceivedRequest> _requests = new();
    private volatile RequestDelegate _respond;

    private HostileUpstream(RequestDelegate respond)
    {
        _respond = respond;
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        _app = builder.Build();
        _app.Run(async context =>
        {
            using var reader = new StreamReader(context.Request.Body);
            var body = await reader.ReadToEndAsync(context.RequestAborted);
            var headers = context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase);
            _requests.Enqueue(new ReceivedRequest(context.Request.Method, context.Request.Path.Value ?? "", headers, body));
            context.Items["body"] = body;
            await _respond(context);
        });
    }

    public Uri Endpoint { get; private set; } = null!;

    public IReadOnlyList<ReceivedRequest> Requests => [.. _requests];

    /// <summary>Changes what the upstream answers from the next request on.</summary>
    public void Respond(RequestDelegate respond) => _respond = respond;

    public static async Task<HostileUpstream> StartAsync(RequestDelegate respond)
    {
        var upstream = new HostileUpstream(respond);
        await upstream._app.StartAsync();
        var address = upstream._app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        upstream.Endpoint = new Uri(new Uri(address), "/mcp");
        return upstream;
    }

    /// <summary>The request body the upstream received, for handlers that answer from it.</summary>
    public static string BodyOf(HttpContext context) => (string)context.Items["body"]!;

    /// <summary>Writes <paramref name="body"/> with the given content type (null: no Content-Type at all).</summary>
    public static async Task WriteAsync(HttpContext context, string body, string? contentType, int status = 200)
    {
        context.Response.StatusCode = status;
        if (contentType is not null)
        {
            context.Response.ContentType = contentType;
        }
        await context.Response.WriteAsync(body, context.RequestAborted);
    }

    /// <summary>One JSON-RPC result for request id 1, as an SSE event.</summary>
    public static string SseResult(string resultJson, int id = 1) =>
        "event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":" + id + ",\"result\":" + resultJson + "}\n\n";

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
