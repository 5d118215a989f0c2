using Fabric.Contracts.Audit;
using Fabric.Contracts.Policy;
using Fabric.Contracts.Servers;
using Fabric.Edge.Filters;
using Fabric.Edge.Mcp;

namespace Fabric.Edge.Pipeline;

/// <summary>
/// Everything one request through <c>/mcp/{server}</c> is and becomes, as the steps of <see cref="McpPipeline"/> learn
/// it: who calls (Identity), which server and grant (Routing), the message (Mcp), THE decision (Policy), the
/// credential (Credentials), what the upstream answered (Forwarding, Filters), and how it ended. The Audit step
/// turns it into one record. One per request, kept as a request feature so the YARP transformer can read it
/// (as YARP keeps its <c>IReverseProxyFeature</c>).
/// </summary>
internal sealed class McpExchange
{
    /// <param name="time">The edge's clock: when the exchange started, and the time in its audit record's id.</param>
    public McpExchange(HttpContext context, string serverName, TimeProvider time)
    {
        Context = context;
        ServerName = serverName;
        Started = time.GetTimestamp();
        RecordId = Guid.CreateVersion7(time.GetUtcNow());
        Method = context.Request.Method;
    }

    public HttpContext Context { get; }

    /// <summary>The id of this exchange's audit record, known from the start (an egress call made during it names it as parent).</summary>
    public Guid RecordId { get; }

    /// <summary>For an egress call: the audit record of the agent call it continues (by trace context), if one was found.</summary>
    public Guid? ParentRecordId { get; set; }

    /// <summary>An egress call's agent, when its process serves exactly one (a per-workload launched server).</summary>
    public SpiffeId? OnBehalfOf { get; set; }

    /// <summary>The <c>{server}</c> route value, as the agent sent it.</summary>
    public string ServerName { get; }

    public long Started { get; }

    /// <summary>The caller's SPIFFE ID from its X.509-SVID; null only for a connection without one (never past the handshake).</summary>
    public SpiffeId? Workload { get; set; }

    /// <summary>True when <see cref="Workload"/> came from a bearer JWT-SVID, not the handshake: <c>auth: mtls</c> policies allow it nothing.</summary>
    public bool Bearer { get; set; }

    /// <summary>
    /// True for an MCP server's outbound call through <c>/egress/{target}</c> (<see cref="ServerName"/> is then the
    /// target, <see cref="Workload"/> the server's identity, <see cref="Name"/> the canonical path).
    /// </summary>
    public bool IsEgress { get; init; }

    /// <summary>For an egress call: it came through the forward proxy (the path is sent to the target's authority as is).</summary>
    public bool Proxied { get; init; }

    /// <summary>For an egress call: the path and query to send to the target's upstream (the path as decided).</summary>
    public string? EgressPathAndQuery { get; set; }

    /// <summary>The federated fabric's edge that carried the call in (ingress), when <see cref="Workload"/> is the agent its JWT-SVID names.</summary>
    public SpiffeId? Via { get; set; }

    /// <summary>The sequence of the bundle of <see cref="Workload"/>'s trust domain when it was admitted.</summary>
    public long? BundleSequence { get; set; }

    public McpServerDefinition? Server { get; set; }

    public WorkloadGrant Grant { get; set; } = WorkloadGrant.None;

    /// <summary>The raw JSON-RPC id of the body, when one could be read (echoed in error answers).</summary>
    public string? RawId { get; set; }

    /// <summary>The JSON-RPC message of a POST, once read and checked.</summary>
    public McpMessage? Message { get; set; }

    /// <summary>The message's bytes as read and decided (POST only): what a launched server is sent.</summary>
    public ReadOnlyMemory<byte> MessageBytes { get; set; }

    public McpGeneration Generation { get; set; }

    /// <summary>What the audit calls the method: the JSON-RPC method, or the transport operation for GET / DELETE.</summary>
    public string Method { get; set; }

    /// <summary>The tool, resource or prompt the message names.</summary>
    public string? Name { get; set; }

    /// <summary>THE decision (Policy step); null until made, and for refusals before it.</summary>
    public Decision? Decision { get; private set; }

    /// <summary>Why the exchange did not end as decided: a refusal before or after the decision; null for a clean allow.</summary>
    public string? Outcome { get; private set; }

    /// <summary>True when an allowed, forwarded call was abandoned by the agent (still an allow: the upstream may have run it).</summary>
    public bool Abandoned { get; private set; }

    /// <summary>The credential spliced into the upstream request, if the server has a binding.</summary>
    public Credential? Credential { get; set; }

    /// <summary>The credential lookup started early (Routing) so it overlaps reading and deciding the message.</summary>
    public Task<CredentialResult>? CredentialLookup { get; set; }

    /// <summary>What the answer is scanned for (headers and body): the spliced credential's forms; empty when nothing was spliced.</summary>
    public CredentialNeedles Needles { get; set; } = CredentialNeedles.Empty;

    /// <summary>The upstream answer must be buffered (list filtering, blocked reflection): its length may change.</summary>
    public bool BufferResponse { get; set; }

    /// <summary>The list filter to apply to the buffered answer (list requests only).</summary>
    public McpListFilter? ListFilter { get; set; }

    /// <summary>The server's tool lock, loaded for tool and prompt calls and for list answers (null: not locked).</summary>
    public Fabric.Contracts.Servers.ToolLockView? ToolLock { get; set; }

    /// <summary>What the list answer held, as seen (every item, visible or not), for the lock.</summary>
    public Fabric.Edge.Policy.ToolLockObservation? Observed { get; set; }

    public int? UpstreamStatus { get; set; }

    /// <summary>Occurrences of the spliced credential masked out of the answer (headers and body).</summary>
    public int CredentialReflected { get; set; }

    /// <summary>Set by the transformer when the upstream's answer must not reach the agent (the reason code).</summary>
    public string? UpstreamRefusal { get; set; }

    public bool Allowed => Decision is { Allowed: true } && (Outcome is null || Abandoned);

    public string Reason => Outcome ?? Decision?.Reason ?? ReasonCodes.PolicyUnavailable;

    public void Decide(Decision decision) => Decision = decision;

    /// <summary>Ends the exchange refused with <paramref name="reason"/>; before a decision it is a deny of its own.</summary>
    public void Refuse(string reason)
    {
        if (Revoked)
        {
            return;
        }
        Decision ??= Contracts.Policy.Decision.Deny(reason, Grant.Version);
        Outcome = reason;
        Abandoned = false;
    }

    /// <summary>A task-augmented <c>tools/call</c>: its answer is buffered and its task id bound to the caller (issue 12 §5).</summary>
    public bool TaskRequested { get; set; }

    /// <summary>True once the exchange was cut because its identity's access was revoked while it ran.</summary>
    public bool Revoked { get; private set; }

    /// <summary>Cuts a live exchange whose access was revoked (issue 12 §5): audited as <c>revoked</c>, whatever follows.</summary>
    public void Revoke()
    {
        Revoked = true;
        Outcome = ReasonCodes.Revoked;
        Abandoned = false;
    }

    /// <summary>An allowed, forwarded call the agent hung up on before its answer was complete.</summary>
    public void Abandon(string reason)
    {
        if (Revoked)
        {
            return;
        }
        Outcome = reason;
        Abandoned = true;
    }

    public AuditRecord ToRecord(string edge, DateTimeOffset time, double latencyMs, string? traceId) => new()
    {
        Id = RecordId,
        Time = time,
        Edge = edge,
        Workload = Workload?.ToString() ?? "",
        Server = ServerName,
        Method = Method,
        Name = Name,
        Allowed = Allowed,
        Reason = Reason,
        Policy = Decision?.Policy,
        Rule = Decision?.Rule,
        Version = Decision?.Version ?? 0,
        UpstreamStatus = UpstreamStatus,
        Status = Context.Response.StatusCode,
        LatencyMs = latencyMs,
        TraceId = traceId,
        LeaseId = Credential?.LeaseId,
        CredentialSource = Credential?.Source,
        CredentialReflected = CredentialReflected,
        Auth = Workload is null ? null : Bearer ? "jwt-svid" : "x509-svid",
        BundleSequence = BundleSequence,
        Via = Via?.ToString(),
        Kind = IsEgress ? "egress" : null,
        ParentRecordId = ParentRecordId,
        OnBehalfOf = OnBehalfOf?.ToString(),
        ApprovalId = Decision?.ApprovalId,
    };
}
