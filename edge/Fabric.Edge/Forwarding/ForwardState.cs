using Fabric.Contracts.Servers;

namespace Fabric.Edge.Forwarding;

/// <summary>Per-request state the splicing transformer reads (kept as a request feature).</summary>
internal sealed class ForwardState
{
    public required Uri Upstream { get; init; }
    public required McpServerDefinition Server { get; init; }
    public required string Workload { get; init; }
    public Credential? Credential { get; init; }
    /// <summary>The response is buffered for list filtering: its length changes.</summary>
    public bool BufferResponse { get; init; }
    public int? UpstreamStatus { get; set; }
    /// <summary>Set when the upstream minted a session id the fabric could not bind to this workload.</summary>
    public bool SessionRejected { get; set; }
}
