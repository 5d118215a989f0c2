namespace Fabric.Demo.Agent;

/// <summary>
/// Where the agent finds the fabric. The AppHost sets these as environment variables
/// (<c>Fabric__ApiUrl</c>, <c>Fabric__EdgeUrl</c>, <c>Fabric__DemoServerUrl</c>, <c>FABRIC_ADMIN_TOKEN</c>).
/// </summary>
public sealed class DemoAgentOptions
{
    public const string Section = "Fabric";

    /// <summary>Base URL of the silo's management API, e.g. http://localhost:5080.</summary>
    public Uri? ApiUrl { get; set; }

    /// <summary>Base URL of the edge, e.g. https://localhost:7443.</summary>
    public Uri? EdgeUrl { get; set; }

    /// <summary>The demo MCP server's endpoint that the edge forwards to, e.g. http://localhost:5090/mcp.</summary>
    public Uri? DemoServerUrl { get; set; }

    /// <summary>Admin bearer token for the management API (from FABRIC_ADMIN_TOKEN).</summary>
    public string? AdminToken { get; set; }

    /// <summary>The agent's identity.</summary>
    public string SpiffeId { get; set; } = "spiffe://fabric.local/agents/demo";

    /// <summary>Lifetime asked for the SVID; the agent renews it at half-life.</summary>
    public int SvidTtlSeconds { get; set; } = 3600;

    /// <summary>The route segment the demo server is registered under at the edge.</summary>
    public string ServerName { get; set; } = "demo";

    /// <summary>Pause between two rounds of calls.</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>MCP protocol version to ask for; empty uses the SDK default (2026-07-28, stateless).</summary>
    public string? ProtocolVersion { get; set; }

    /// <summary><c>Fabric:Stdio</c>: the launched stdio server and the SaaS API it calls through the egress leg (off when unset).</summary>
    public DemoStdioOptions Stdio { get; set; } = new();
}

/// <summary>The stdio half of the demo: a server the edge launches, whose API key lives only in the fabric.</summary>
public sealed class DemoStdioOptions
{
    /// <summary>The demo stdio server's build output (<c>Fabric.Demo.StdioServer.dll</c>), launched as <c>dotnet &lt;dll&gt;</c>.</summary>
    public string? ServerDll { get; set; }

    /// <summary>The demo SaaS API's base URL, e.g. https://localhost:5450.</summary>
    public Uri? SaasUrl { get; set; }

    /// <summary>The SaaS API's CA certificate (PEM), the egress target's <c>tls.caFile</c>.</summary>
    public string? SaasCaFile { get; set; }

    public string ServerName { get; set; } = "demo-stdio";

    public string TargetName { get; set; } = "demo-saas";

    public bool Enabled => ServerDll is not null && SaasUrl is not null && SaasCaFile is not null;
}
