using Fabric.Bench.Fabric;

namespace Fabric.Bench.Scenarios;

/// <summary>Where each party listens and which path reaches the upstream's JSON and SSE answers through it.</summary>
internal sealed record Targets(Uri Direct, Uri Yarp, Uri? Nginx, Uri Edge, Uri? Api = null)
{
    /// <summary>Through the edge's egress leg in base-URL mode to the API upstream's <c>/mcp</c>.</summary>
    public const string EgressPath = "/egress/" + FabricRegistration.EgressTarget + "/mcp";

    public static readonly Version Http2 = new(2, 0);
    public static readonly Version Http11 = new(1, 1);

    public const string PlainPath = "/mcp";
    public const string PlainSsePath = "/mcp/sse";
    public const string EdgePath = "/mcp/" + FabricRegistration.Server;
    public const string EdgeNoSplicePath = "/mcp/" + FabricRegistration.ServerNoSplice;
    public const string EdgeSsePath = "/mcp/" + FabricRegistration.ServerSse;
    public const string EdgeLimitedPath = "/mcp/" + FabricRegistration.ServerLimited;
    public const string EdgeRevocationPath = "/mcp/" + FabricRegistration.ServerRevocation;
}
