namespace Fabric.Bench.Fabric;

/// <summary>
/// What the run registers with the fabric through the management API. The upstream is registered
/// over https with <c>identity</c> pinned to its SVID, so the edge does mTLS out exactly as YARP and
/// nginx do (an identity-less https upstream would need a WebPKI certificate).
/// <list type="bullet">
/// <item><c>bench</c>: upstream <c>/mcp</c>, a local secret spliced as <c>Authorization: Bearer …</c>.</item>
/// <item><c>bench-nosplice</c>: the same upstream, no credential binding (splicing off).</item>
/// <item><c>bench-sse</c>: upstream <c>/mcp/sse</c> (answers as an SSE event), with splicing.</item>
/// <item><c>bench-rev</c>: the server the revocation probe toggles grants on.</item>
/// <item><c>bench-limited</c>: as <c>bench</c>, its rule with a budget (<c>limit</c>) no run can spend: the cost of counting.</item>
/// </list>
/// One policy admits every agent under <c>bench/agents/*</c> to <c>echo</c> and <c>tool-0*</c>
/// (so <c>tools/list</c> keeps 10 of 50 tools) on the first three.
/// </summary>
internal static class FabricRegistration
{
    public const string Server = "bench";
    public const string ServerNoSplice = "bench-nosplice";
    public const string ServerSse = "bench-sse";
    public const string ServerRevocation = "bench-rev";
    public const string ServerLimited = "bench-limited";
    /// <summary>A tool call that streams until cut: the in-flight revocation probe's server.</summary>
    public const string ServerStream = "bench-stream";
    public const string AgentsPrefix = "bench/agents";
    public const string ScalePrefix = "bench/scale";

    /// <summary>The egress target an "MCP server" (here: the bench agents' identities) calls in base-URL mode: the API upstream.</summary>
    public const string EgressTarget = "bench-api";
    private static readonly string[] EgressMethods = ["POST"];
    private static readonly string[] EchoOnly = ["echo"];
    private static readonly string[] EgressPaths = ["/mcp*"];

    /// <summary>
    /// The egress leg (issue 11): target <c>bench-api</c> = the API upstream (server authentication only, trusted by the
    /// fabric bundle as its <c>tls.caFile</c>), the bench key spliced; the agents' identities may POST to <c>/mcp*</c> there.
    /// </summary>
    public static async Task RegisterEgressAsync(FabricHost fabric, Uri api, string caFile, CancellationToken cancellationToken)
    {
        var credential = new { source = "local", @ref = "bench-key", inject = new { header = "Authorization", format = "Bearer {secret}" } };
        await fabric.PutAsync($"/v1/egress/{EgressTarget}", new { upstream = api.ToString(), credential, tls = new { caFile } }, cancellationToken);
        await fabric.PutAsync("/v1/policies/bench-egress", new
        {
            subjects = new[] { $"spiffe://{FabricHost.TrustDomain}/{AgentsPrefix}/*" },
            rules = new[] { new { egress = EgressTarget, effect = "allow", methods = EgressMethods, paths = EgressPaths } },
        }, cancellationToken);
    }

    /// <summary>A launched (stdio) server running the demo stdio server, its <c>echo</c> allowed to the bench agents.</summary>
    public static async Task RegisterLaunchedAsync(FabricHost fabric, string name, string dll, CancellationToken cancellationToken)
    {
        await fabric.PutAsync($"/v1/servers/{name}", new
        {
            identity = $"spiffe://{FabricHost.TrustDomain}/mcp/{name}",
            launch = new { command = "dotnet", args = new[] { dll }, idleTimeoutSeconds = 3600 },
        }, cancellationToken);
        await fabric.PutAsync($"/v1/policies/{name}-agents", new
        {
            subjects = new[] { $"spiffe://{FabricHost.TrustDomain}/{AgentsPrefix}/*" },
            rules = new[] { new { server = name, effect = "allow", tools = EchoOnly } },
        }, cancellationToken);
    }

    public static async Task RegisterAsync(FabricHost fabric, Uri upstream, string upstreamIdentity, CancellationToken cancellationToken)
    {
        await fabric.PutAsync("/v1/secrets/bench-key", new { value = "sk-bench-" + Guid.NewGuid().ToString("N") }, cancellationToken);
        var credential = new { source = "local", @ref = "bench-key", inject = new { header = "Authorization", format = "Bearer {secret}" } };
        await fabric.PutAsync($"/v1/servers/{Server}", new { upstream = new Uri(upstream, "/mcp").ToString(), identity = upstreamIdentity, credential }, cancellationToken);
        await fabric.PutAsync($"/v1/servers/{ServerNoSplice}", new { upstream = new Uri(upstream, "/mcp").ToString(), identity = upstreamIdentity }, cancellationToken);
        await fabric.PutAsync($"/v1/servers/{ServerSse}", new { upstream = new Uri(upstream, "/mcp/sse").ToString(), identity = upstreamIdentity, credential }, cancellationToken);
        await fabric.PutAsync($"/v1/servers/{ServerLimited}", new { upstream = new Uri(upstream, "/mcp").ToString(), identity = upstreamIdentity, credential }, cancellationToken);
        await fabric.PutAsync($"/v1/servers/{ServerStream}", new { upstream = new Uri(upstream, "/mcp/stream").ToString(), identity = upstreamIdentity, credential }, cancellationToken);
        await fabric.PutAsync($"/v1/servers/{ServerRevocation}", new { upstream = new Uri(upstream, "/mcp").ToString(), identity = upstreamIdentity, credential }, cancellationToken);

        string[] tools = ["echo", "tool-0*"];
        await fabric.PutAsync("/v1/policies/bench-agents", new
        {
            subjects = new[] { $"spiffe://{FabricHost.TrustDomain}/{AgentsPrefix}/*", $"spiffe://{FabricHost.TrustDomain}/{ScalePrefix}/*" },
            rules = new[] { Server, ServerNoSplice, ServerSse }.Select(server => (object)new { server, effect = "allow", tools })
                .Append(new { server = ServerLimited, effect = "allow", tools, limit = new { calls = 1_000_000_000, per = "1d" } }).ToArray(),
        }, cancellationToken);
    }
}
