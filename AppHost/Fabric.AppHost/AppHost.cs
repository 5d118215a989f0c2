using Aspire.Hosting.ApplicationModel;

// Fabric on embedded defaults: one silo (localhost clustering, in-memory storage), one edge, and
// unless Fabric:Demo is false, a demo MCP server and a demo agent that keeps calling it through the
// edge. Every process exports OpenTelemetry to the dashboard through Fabric.ServiceDefaults.
//
//   silo :5080 (/v1, Orleans gateway :30000) ◄── edge https://localhost:7443 (mTLS, Orleans client)
//        ▲                                          ▲  │
//        └─ setup + SVID ── demo agent ── mTLS ─────┘  ├─► demo MCP server http://localhost:5090/mcp
//                                                      └─► demo stdio server (launched by the edge, no key in its
//                                                          environment) ── egress proxy :7480 ──► demo SaaS API https://localhost:5450
var builder = DistributedApplication.CreateBuilder(args);

// Generated per run (not persisted); set Parameters:fabric-admin-token to choose one.
var adminToken = builder.AddParameter("fabric-admin-token",
    new GenerateParameterDefault { MinLength = 32, Special = false }, secret: true, persist: false);

// `-- --cluster redis` (or launch profile "redis"): two silos clustered through a redis-server
// executable, two edges, the demo; see RedisCluster.cs. Without it, the embedded default below.
if (RedisCluster.IsSelected(builder.Configuration))
{
    RedisCluster.AddTo(builder, adminToken);
    builder.Build().Run();
    return;
}

var silo = builder.AddProject<Projects.Fabric_Silo>("silo", launchProfileName: null)
    .WithHttpEndpoint(port: 5080, name: "http", isProxied: false)
    .WithHttpHealthCheck("/health")
    // The console, the Orleans Dashboard (both behind the console's sign-in), the management API's reference page and
    // OpenAPI document, as links on the silo in the Aspire dashboard (issue 13 §4, §6).
    .WithUrls(context =>
    {
        if (context.GetEndpoint("http") is not { } http)
        {
            return;
        }
        context.Urls.Add(new ResourceUrlAnnotation { Url = http.Url + "/console", DisplayText = "Fabric console", Endpoint = http });
        context.Urls.Add(new ResourceUrlAnnotation { Url = http.Url + "/dashboard/", DisplayText = "Orleans dashboard", Endpoint = http });
        context.Urls.Add(new ResourceUrlAnnotation { Url = http.Url + "/scalar/", DisplayText = "API reference (Scalar)", Endpoint = http });
        context.Urls.Add(new ResourceUrlAnnotation { Url = http.Url + "/openapi/v1.json", DisplayText = "OpenAPI document", Endpoint = http });
    })
    .WithEnvironment("FABRIC_ADMIN_TOKEN", adminToken);

// isProxied: false so the agent's TLS handshake (client certificate included) reaches the edge's
// Kestrel untouched; WithoutHttpsCertificate keeps Aspire from configuring a developer certificate:
// the edge serves a certificate from the fabric's own CA.
// The edge may launch only the dotnet host (the demo stdio server); see Fabric:Edge:Launch:AllowedCommands.
#pragma warning disable ASPIRECERTIFICATES001 // Evaluation API in 13.6; the edge must never get the developer certificate.
var edge = builder.AddProject<Projects.Fabric_Edge>("edge", launchProfileName: null)
    .WithHttpsEndpoint(port: 7443, name: "https", isProxied: false)
    .WithoutHttpsCertificate()
    .WithEnvironment("Fabric__Edge__Name", "edge-1")
    .WithEnvironment("Fabric__Edge__Launch__AllowedCommands", DemoPaths.Dotnet)
    .WithReference(silo)
    .WaitFor(silo);
#pragma warning restore ASPIRECERTIFICATES001

if (!string.Equals(builder.Configuration["Fabric:Demo"], "false", StringComparison.OrdinalIgnoreCase))
{
    var demoServer = builder.AddProject<Projects.Fabric_Demo_McpServer>("demo-mcp", launchProfileName: null)
        .WithHttpEndpoint(port: 5090, name: "http", isProxied: false)
        .WithHttpHealthCheck("/health");

    // A "SaaS API" under its own CA, reached only through the edge's egress leg by the launched stdio server.
#pragma warning disable ASPIRECERTIFICATES001
    var saasApi = builder.AddProject<Projects.Fabric_Demo_SaasApi>("demo-saas-api", launchProfileName: null)
        .WithHttpsEndpoint(port: 5450, name: "https", isProxied: false)
        .WithoutHttpsCertificate()
        .WithEnvironment("DemoSaas__CaFile", DemoPaths.SaasCaFile);
#pragma warning restore ASPIRECERTIFICATES001

    var demoServerHttp = demoServer.GetEndpoint("http");
    builder.AddProject<Projects.Fabric_Demo_Agent>("demo-agent", launchProfileName: null)
        .WithEnvironment("FABRIC_ADMIN_TOKEN", adminToken)
        .WithEnvironment("Fabric__ApiUrl", silo.GetEndpoint("http"))
        .WithEnvironment("Fabric__EdgeUrl", edge.GetEndpoint("https"))
        .WithEnvironment("Fabric__DemoServerUrl", ReferenceExpression.Create($"{demoServerHttp}/mcp"))
        .WithEnvironment("Fabric__Stdio__ServerDll", DemoPaths.StdioServerDll)
        .WithEnvironment("Fabric__Stdio__SaasUrl", saasApi.GetEndpoint("https"))
        .WithEnvironment("Fabric__Stdio__SaasCaFile", DemoPaths.SaasCaFile)
        .WithReference(silo).WaitFor(silo)
        .WithReference(edge).WaitFor(edge)
        .WithReference(demoServer).WaitFor(demoServer)
        .WaitFor(saasApi);
}

builder.Build().Run();

/// <summary>Where the demo's local parts are: the dotnet host, the stdio server's build output, the SaaS API's CA file.</summary>
internal static class DemoPaths
{
    public static string Dotnet { get; } =
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(directory => Path.Combine(directory, OperatingSystem.IsWindows() ? "dotnet.exe" : "dotnet"))
            .FirstOrDefault(File.Exists) ?? "dotnet";

    public static string StdioServerDll { get; } = Path.Combine(
        Path.GetDirectoryName(new Projects.Fabric_Demo_StdioServer().ProjectPath)!, "bin",
#if DEBUG
        "Debug",
#else
        "Release",
#endif
        "net10.0", "Fabric.Demo.StdioServer.dll");

    public static string SaasCaFile { get; } = Path.Combine(Path.GetTempPath(), "fabric-demo-saas", "ca.pem");
}
