namespace Fabric.Edge.Hosting;

/// <summary>The edge's settings (section <c>Fabric:Edge</c>).</summary>
public sealed class EdgeOptions
{
    public const string Section = "Fabric:Edge";

    /// <summary>The edge's name; its SVID is <c>spiffe://&lt;td&gt;/fabric/edge/&lt;name&gt;</c>.</summary>
    public string Name { get; set; } = "edge-1";

    /// <summary>The largest JSON-RPC message the edge reads to decide (larger → 413).</summary>
    public int MaxMessageBytes { get; set; } = 1024 * 1024;

    /// <summary>The largest list response the edge buffers to filter (larger → 502, fail closed).</summary>
    public int MaxListResponseBytes { get; set; } = 8 * 1024 * 1024;

    /// <summary>Upper bound on how long a cached server or grant lives even without a push.</summary>
    public TimeSpan CacheTtl { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How often the edge renews its subscription to invalidation pushes.</summary>
    public TimeSpan SubscriptionRefresh { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How long the edge keeps trusting its caches after it last confirmed its subscription. Past
    /// it every decision goes to the cluster, which fails closed when the cluster is unreachable.
    /// </summary>
    public TimeSpan SubscriptionGrace { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>How often the edge reports itself to the registry (last seen, version, audit backlog: <c>GET /v1/edges</c>).</summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>A cached credential is dropped this long before its lease ends.</summary>
    public TimeSpan CredentialSafetyMargin { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>JWT-SVIDs as an alternative to mTLS, for agents behind a TLS-terminating load balancer.</summary>
    public EdgeJwtSvidOptions JwtSvid { get; set; } = new();

    /// <summary><c>Fabric:Edge:Ingress</c>: this edge also admits calls federated fabrics' edges carry in for their agents.</summary>
    public EdgeIngressOptions Ingress { get; set; } = new();

    /// <summary><c>Fabric:Edge:Egress</c>: the forward proxy for MCP servers' outbound calls.</summary>
    public EdgeEgressOptions Egress { get; set; } = new();

    /// <summary><c>Fabric:Edge:Launch</c>: which local (stdio) servers this edge may start, and their limits.</summary>
    public EdgeLaunchOptions Launch { get; set; } = new();

    /// <summary>DNS names in the edge's serving SVID.</summary>
    public string[] DnsNames { get; set; } = ["localhost"];

    /// <summary>IP addresses in the edge's serving SVID.</summary>
    public string[] IpAddresses { get; set; } = ["127.0.0.1"];

    /// <summary>Audit records per batch shipped to the cluster.</summary>
    public int AuditBatchSize { get; set; } = 256;

    /// <summary>
    /// How long a partial batch, already on disk, waits for more records before it is shipped. Each batch
    /// costs a grain call, a store write, a counter update per workload and a checkpoint fsync whatever its
    /// size; under load a short wait lets many records share them. Zero ships at once.
    /// </summary>
    public TimeSpan AuditShipLinger { get; set; } = TimeSpan.FromMilliseconds(20);

    /// <summary>
    /// Group commit of the spool while a batch is being shipped: records that arrive within this long of the first share
    /// one write and one fsync (and one chain-head write) instead of paying them each. It widens the window in which a
    /// crash loses a record by at most this long. Zero writes each arrival at once.
    /// </summary>
    public TimeSpan AuditSpoolLinger { get; set; } = TimeSpan.FromMilliseconds(2);

    /// <summary>Records queued in memory before they reach the on-disk spool; beyond it the oldest are dropped and counted.</summary>
    public int AuditBufferCapacity { get; set; } = 100_000;

    /// <summary>
    /// Where unshipped audit records wait on disk (fsync'd). Default:
    /// <c>$XDG_DATA_HOME/fabric/edge-&lt;name&gt;/audit</c> (or <c>~/.local/share/…</c>). Give a
    /// replacement edge the same directory and it ships what its predecessor left.
    /// </summary>
    public string? AuditSpoolDirectory { get; set; }

    /// <summary>The spool's size cap; past it the oldest segment is dropped and counted.</summary>
    public long AuditSpoolMaxBytes { get; set; } = 256L * 1024 * 1024;

    public string ResolveSpoolDirectory()
    {
        if (!string.IsNullOrEmpty(AuditSpoolDirectory))
        {
            return AuditSpoolDirectory;
        }
        return Path.Combine(Fabric.Hosting.DataDirectory.Default(), "edge-" + Name, "audit");
    }
}

/// <summary><c>Fabric:Edge:JwtSvid</c>: off unless enabled; then a request without a client certificate may carry one.</summary>
public sealed class EdgeJwtSvidOptions
{
    /// <summary>Accept <c>Authorization: Bearer &lt;JWT-SVID&gt;</c> from callers without a client certificate.</summary>
    public bool Enabled { get; set; }

    /// <summary>The audience a token must name; default: this edge's SPIFFE ID (<c>spiffe://&lt;td&gt;/fabric/edge/&lt;name&gt;</c>).</summary>
    public string? Audience { get; set; }
}

/// <summary>
/// <c>Fabric:Edge:Ingress</c>: off unless enabled. Then a client certificate of an edge of a federated trust domain
/// (<c>spiffe://&lt;td&gt;/fabric/edge/&lt;name&gt;</c>, validated with that domain's bundle) is admitted as the transport of
/// its agent's call: the request must carry that agent's JWT-SVID (<c>Authorization: Bearer</c>, audience the called
/// server's SPIFFE ID, the agent in the edge's own trust domain), and the call is decided on the agent.
/// </summary>
public sealed class EdgeIngressOptions
{
    public bool Enabled { get; set; }
}

/// <summary><c>Fabric:Edge:Egress</c>: where the egress forward proxy listens and which CA it terminates tunnels with.</summary>
public sealed class EdgeEgressOptions
{
    /// <summary>
    /// The proxy's listeners, one URL or several separated by ';' (one string, so the environment form replaces the
    /// default): <c>http://</c> for servers the edge launches (identified by their per-process proxy credential),
    /// <c>https://</c> for remote servers that present their SVID to the proxy. Empty: no proxy.
    /// </summary>
    public string ProxyUrls { get; set; } = "http://127.0.0.1:7480";

    /// <summary>A PEM egress CA certificate to use instead of a key generated in memory at start (with <see cref="CaKeyFile"/>).</summary>
    public string? CaCertificateFile { get; set; }

    public string? CaKeyFile { get; set; }
}

/// <summary>
/// <c>Fabric:Edge:Launch</c>: the edge starts the commands of launched servers, so which ones it may start is the
/// edge operator's to say, not only the management API's: a stolen admin token must not become code execution on
/// every edge. Default: none.
/// </summary>
public sealed class EdgeLaunchOptions
{
    /// <summary>
    /// Commands this edge may start, separated by ';': absolute paths of executables, or directories ending in '/'
    /// (any executable below them); <c>*</c> permits any command. A bare command name is resolved on the edge's PATH
    /// first, and the resolved path is what is checked. Empty (the default): nothing is launched.
    /// </summary>
    public string AllowedCommands { get; set; } = "";

    /// <summary>Launched processes alive at once on this edge (idle ones are stopped first to make room).</summary>
    public int MaxProcesses { get; set; } = 32;

    /// <summary>How long a process has to start and answer the edge's <c>initialize</c>.</summary>
    public TimeSpan StartTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The longest restart backoff after repeated failures (it doubles from one second).</summary>
    public TimeSpan MaxRestartBackoff { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>The stderr lines per process the edge logs in each 10-second window (the rest are counted).</summary>
    public int StderrLinesPerWindow { get; set; } = 100;
}
