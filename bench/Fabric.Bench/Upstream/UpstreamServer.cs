using System.Buffers;
using System.IO.Pipelines;
using Fabric.Bench.Fabric;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace Fabric.Bench.Upstream;

/// <summary>
/// An MCP-shaped upstream on Kestrel, https only, client certificate required (mTLS, chain to the
/// fabric bundle). Any POST path answers a JSON-RPC request: <c>tools/list</c> with 50 tools, anything
/// else with a small <c>tools/call</c> result; a path ending in <c>/sse</c> answers as one SSE event.
/// Deliberately not the MCP SDK: the upstream should cost the same, and little, in every scenario.
/// </summary>
internal sealed class UpstreamServer(WebApplication app, Uri baseUrl) : IAsyncDisposable
{
    private const int MaxBody = 1024 * 1024;

    /// <summary><c>https://localhost:port</c>.</summary>
    public Uri BaseUrl { get; } = baseUrl;

    public static async Task<UpstreamServer> StartAsync(Svid svid, BenchPki pki, CancellationToken cancellationToken, bool requireClientCertificate = true)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => pki.ListenMutualTls(kestrel, svid, MaxBody, requireClientCertificate));
        var app = builder.Build();
        app.Run(AnswerAsync);
        await app.StartAsync(cancellationToken);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        var port = new Uri(address).Port;
        return new UpstreamServer(app, new Uri($"https://localhost:{port}"));
    }

    private static async Task AnswerAsync(HttpContext context)
    {
        if (!HttpMethods.IsPost(context.Request.Method))
        {
            context.Response.StatusCode = StatusCodes.Status405MethodNotAllowed;
            return;
        }
        var reader = context.Request.BodyReader;
        ReadResult read;
        while (true)
        {
            read = await reader.ReadAsync(context.RequestAborted);
            if (read.IsCompleted || read.Buffer.Length > MaxBody)
            {
                break;
            }
            reader.AdvanceTo(read.Buffer.Start, read.Buffer.End);
        }
        if (context.Request.Path.Value?.EndsWith("/stream", StringComparison.Ordinal) == true)
        {
            reader.AdvanceTo(read.Buffer.End);
            await StreamUntilCutAsync(context);
            return;
        }
        var sse = context.Request.Path.Value?.EndsWith("/sse", StringComparison.Ordinal) == true;
        var length = (int)read.Buffer.Length;
        var body = ArrayPool<byte>.Shared.Rent(Math.Max(length, 1));
        byte[]? output = null;
        try
        {
            read.Buffer.CopyTo(body);
            reader.AdvanceTo(read.Buffer.End);
            var (rawId, isList) = JsonRpcPeek.Read(body.AsSpan(0, length));
            ReadOnlySpan<byte> id = rawId.Equals(0..0) ? "null"u8 : body.AsSpan(0, length)[rawId];
            output = ArrayPool<byte>.Shared.Rent(McpResponses.MaxLength(id.Length));
            var written = McpResponses.Write(output, id, isList, sse);
            context.Response.ContentType = sse ? "text/event-stream" : "application/json";
            context.Response.ContentLength = written;
            await context.Response.Body.WriteAsync(output.AsMemory(0, written), context.RequestAborted);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(body);
            if (output is not null)
            {
                ArrayPool<byte>.Shared.Return(output);
            }
        }
    }

    /// <summary>
    /// A tool call that never finishes (<c>…/stream</c>, for the in-flight revocation probe): one SSE progress event, longer
    /// than any redaction hold-back so the agent sees it, then the stream stays open until someone cuts it.
    /// </summary>
    private static async Task StreamUntilCutAsync(HttpContext context)
    {
        context.Response.ContentType = "text/event-stream";
        var padding = new string('x', 1024);
        await context.Response.WriteAsync(
            $"data: {{\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{{\"progressToken\":1,\"progress\":1,\"message\":\"{padding}\"}}}}\n\n",
            context.RequestAborted);
        await context.Response.Body.FlushAsync(context.RequestAborted);
        try
        {
            await Task.Delay(Timeout.Infinite, context.RequestAborted);
        }
        catch (OperationCanceledException)
        {
            // cut: what the probe waits for
        }
    }

    public async ValueTask DisposeAsync()
    {
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await app.StopAsync(stop.Token);
        await app.DisposeAsync();
    }
}
