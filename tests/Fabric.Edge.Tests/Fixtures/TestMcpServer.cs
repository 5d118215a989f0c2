using System.Collections.Concurrent;
using System.ComponentModel;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using ModelContextProtocol;
using ModelContextProtocol.AspNetCore;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace Fabric.Edge.Tests.Fixtures;

public sealed record TestMcpServerOptions
{
    /// <summary>Serve HTTPS with this certificate (plain HTTP when null).</summary>
    public X509Certificate2? ServerCertificate { get; init; }

    /// <summary>
    /// Require a client certificate (mTLS) and accept exactly those this returns true for. Needs
    /// <see cref="ServerCertificate"/>. Chain building is left to the function (it gets the raw certificate).
    /// </summary>
    public Func<X509Certificate2?, bool>? ClientCertificateRequirement { get; init; }

    /// <summary>Stateful for initialize clients by default, so both protocol generations work.</summary>
    public HttpServerSessionMode SessionMode { get; init; } = HttpServerSessionMode.StatefulForInitializeClients;
}

/// <summary>One HTTP request as the test server received it (before the MCP handler saw it).</summary>
public sealed record ReceivedRequest(string Method, string Path, IReadOnlyDictionary<string, string> Headers, string Body)
{
    public string? Header(string name) => Headers.TryGetValue(name, out var value) ? value : null;
}

/// <summary>
/// A real MCP server (ModelContextProtocol.AspNetCore 2.4.0) on real Kestrel, loopback, port 0.
/// Tools: echo, add, delete_all_files (destructive), read_file, whoami (returns the Authorization header
/// the server received), progress (sends notifications/progress per step). Resources: file:///readme.txt,
/// file:///secrets.txt and the templates file:///logs/{name}, db://{table}. Prompts: summarize, admin_prompt.
/// </summary>
public sealed class TestMcpServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<ReceivedRequest> _requests;

    private TestMcpServer(WebApplication app, ConcurrentQueue<ReceivedRequest> requests, Uri endpoint)
    {
        _app = app;
        _requests = requests;
        Endpoint = endpoint;
    }

    /// <summary>The MCP endpoint, <c>http(s)://127.0.0.1:port/mcp</c>.</summary>
    public Uri Endpoint { get; }

    /// <summary>Snapshot of every request received so far, in arrival order.</summary>
    public IReadOnlyList<ReceivedRequest> Requests => [.. _requests];

    public void ClearRequests() => _requests.Clear();

    public static async Task<TestMcpServer> StartAsync(TestMcpServerOptions? options = null)
    {
        options ??= new TestMcpServerOptions();
        if (options.ClientCertificateRequirement is not null && options.ServerCertificate is null)
        {
            throw new ArgumentException("A client certificate requirement needs a server certificate (mTLS).", nameof(options));
        }

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen =>
        {
            if (options.ServerCertificate is not { } certificate)
            {
                return;
            }

            listen.Protocols = HttpProtocols.Http1AndHttp2;
            listen.UseHttps(https =>
            {
                https.ServerCertificate = certificate;
                if (options.ClientCertificateRequirement is { } requirement)
                {
                    https.ClientCertificateMode = ClientCertificateMode.RequireCertificate;
                    https.ClientCertificateValidation = (client, _, _) => requirement(client);
                }
            });
        }));

        builder.Services.AddHttpContextAccessor();
        builder.Services.AddMcpServer(server => server.ServerInfo = new() { Name = "fabric-test-mcp", Version = "1.0.0" })
            .WithHttpTransport(http => http.SessionMode = options.SessionMode)
            .WithTools<TestMcpTools>()
            .WithResources<TestMcpResources>()
            .WithPrompts<TestMcpPrompts>();

        var app = builder.Build();
        var requests = new ConcurrentQueue<ReceivedRequest>();
        app.Use(async (context, next) =>
        {
            context.Request.EnableBuffering();
            using var reader = new StreamReader(context.Request.Body, Encoding.UTF8, leaveOpen: true);
            var body = await reader.ReadToEndAsync(context.RequestAborted);
            context.Request.Body.Position = 0;
            var headers = context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase);
            requests.Enqueue(new ReceivedRequest(context.Request.Method, context.Request.Path.Value ?? "", headers, body));
            await next(context);
        });
        app.MapMcp("/mcp");

        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        var endpoint = new Uri(new Uri(address.Replace("[::1]", "127.0.0.1", StringComparison.Ordinal)), "/mcp");
        return new TestMcpServer(app, requests, endpoint);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

[McpServerToolType]
public sealed class TestMcpTools
{
    [McpServerTool(Name = "echo"), Description("Returns its text.")]
    public static string Echo(string text) => text;

    [McpServerTool(Name = "add"), Description("Adds two integers.")]
    public static int Add(int a, int b) => a + b;

    [McpServerTool(Name = "delete_all_files", Destructive = true), Description("Pretends to delete everything under path.")]
    public static string DeleteAllFiles(string path) => "deleted";

    [McpServerTool(Name = "read_file", ReadOnly = true), Description("Pretends to read a file.")]
    public static string ReadFile(string path) => $"contents of {path}";

    [McpServerTool(Name = "whoami"), Description("Returns the Authorization header the server received.")]
    public static string WhoAmI(IHttpContextAccessor accessor) =>
        accessor.HttpContext?.Request.Headers.Authorization.ToString() ?? "";

    [McpServerTool(Name = "progress"), Description("Reports progress once per step, pausing between steps.")]
    public static async Task<string> Progress(int steps, RequestContext<CallToolRequestParams> context, CancellationToken cancellationToken)
    {
        // Awaited sends (not IProgress, which is fire-and-forget): each notification is on the
        // response stream before the result, so none can be lost to a stream that already closed.
        for (var step = 1; step <= steps; step++)
        {
            if (context.Params?.ProgressToken is { } token)
            {
                await context.Server.NotifyProgressAsync(token,
                    new ProgressNotificationValue { Progress = step, Total = steps, Message = $"step {step}" },
                    cancellationToken: cancellationToken);
            }
            await Task.Delay(50, cancellationToken);
        }

        return $"done {steps}";
    }
}

[McpServerResourceType]
public sealed class TestMcpResources
{
    [McpServerResource(UriTemplate = "file:///readme.txt", Name = "readme", MimeType = "text/plain")]
    public static string Readme() => "read me";

    [McpServerResource(UriTemplate = "file:///secrets.txt", Name = "secrets", MimeType = "text/plain")]
    public static string Secrets() => "top secret";

    [McpServerResource(UriTemplate = "file:///logs/{name}", Name = "log", MimeType = "text/plain")]
    public static string Log(string name) => $"log {name}";

    [McpServerResource(UriTemplate = "db://{table}", Name = "table", MimeType = "text/plain")]
    public static string Table(string table) => $"rows of {table}";
}

[McpServerPromptType]
public sealed class TestMcpPrompts
{
    [McpServerPrompt(Name = "summarize"), Description("Asks for a summary.")]
    public static string Summarize(string text) => $"Summarize: {text}";

    [McpServerPrompt(Name = "admin_prompt"), Description("Only for admins.")]
    public static string AdminPrompt() => "You are root.";
}
