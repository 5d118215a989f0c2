using Fabric.Demo.McpServer;
using Fabric.Demo.McpServer.Http;
using Fabric.Demo.McpServer.Tools;
using ModelContextProtocol.AspNetCore;

// A small, real MCP server that plays the upstream behind the edge in the demo. It holds no
// secrets: the edge splices the credential in, and this server only reports whether one arrived.
var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.Services.AddOpenTelemetry()
    .WithTracing(t => t.AddSource(DemoTelemetry.McpSdkSource))
    .WithMetrics(m => m.AddMeter(DemoTelemetry.McpSdkSource));

builder.Services.AddMcpServer()
    .WithHttpTransport(o => o.SessionMode = HttpServerSessionMode.StatefulForInitializeClients)
    .WithTools<DemoTools>();

var app = builder.Build();
app.MapDefaultEndpoints();
app.UseMiddleware<CredentialPresenceLogger>();
app.MapMcp("/mcp");
app.Run();
