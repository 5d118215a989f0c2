using Fabric.Demo.Agent;
using Fabric.Demo.Agent.Management;
using Fabric.Demo.Agent.Telemetry;

// The demo agent: sets the fabric up through the management API, mints its own X.509-SVID and then
// keeps calling the demo MCP server through the edge, allowed and denied calls alike.
var builder = Host.CreateApplicationBuilder(args);
builder.AddServiceDefaults();
builder.Services.AddOpenTelemetry()
    .WithTracing(t => t.AddSource(AgentTelemetry.Name, AgentTelemetry.McpSdkSource))
    .WithMetrics(m => m.AddMeter(AgentTelemetry.Name, AgentTelemetry.McpSdkSource));

builder.Services.AddOptions<DemoAgentOptions>()
    .Bind(builder.Configuration.GetSection(DemoAgentOptions.Section))
    .Configure(o => o.AdminToken ??= builder.Configuration["FABRIC_ADMIN_TOKEN"])
    .Validate(o => o.ApiUrl is not null && o.EdgeUrl is not null && o.DemoServerUrl is not null,
        "Fabric:ApiUrl, Fabric:EdgeUrl and Fabric:DemoServerUrl are required")
    .Validate(o => !string.IsNullOrEmpty(o.AdminToken), "FABRIC_ADMIN_TOKEN is required")
    .ValidateOnStart();

builder.Services.AddSingleton(TimeProvider.System);
builder.Services.AddSingleton<AgentTelemetry>();
builder.Services.AddHttpClient<FabricApiClient>();
builder.Services.AddHostedService<AgentWorker>();

builder.Build().Run();
