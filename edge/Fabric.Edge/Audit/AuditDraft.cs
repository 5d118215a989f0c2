using Fabric.Contracts.Audit;
using Fabric.Contracts.Policy;

namespace Fabric.Edge.Audit;

/// <summary>What the pipeline learns about one message as it goes; becomes an <see cref="AuditRecord"/> at the end.</summary>
internal sealed class AuditDraft
{
    public required string Workload { get; init; }
    public required string Server { get; init; }
    public required string Method { get; set; }
    public string? Name { get; set; }
    public Decision? Decision { get; private set; }
    public string? ReasonOverride { get; private set; }
    public int? UpstreamStatus { get; set; }
    public string? LeaseId { get; set; }
    public string? CredentialSource { get; set; }

    private bool _abandoned;

    public bool Decided => Decision is not null;
    public bool Allowed => Decision is { Allowed: true } && (ReasonOverride is null || _abandoned);
    public string Reason => ReasonOverride ?? Decision?.Reason ?? ReasonCodes.PolicyUnavailable;

    public void Decide(Decision decision) => Decision = decision;

    /// <summary>An allowed call that failed after the decision (upstream identity, credential, transport).</summary>
    public void Fail(string reason, long version = 0)
    {
        Decision ??= Contracts.Policy.Decision.Deny(reason, version);
        ReasonOverride = reason;
    }

    /// <summary>
    /// An allowed, forwarded call the agent abandoned before its answer was complete: still an allow
    /// (the upstream may have run it), with the reason saying why no full answer went back.
    /// </summary>
    public void Abandon(string reason)
    {
        ReasonOverride = reason;
        _abandoned = true;
    }

    public AuditRecord Build(string edge, DateTimeOffset time, double latencyMs, string? traceId) => new()
    {
        Id = Guid.CreateVersion7(time),
        Time = time,
        Edge = edge,
        Workload = Workload,
        Server = Server,
        Method = Method,
        Name = Name,
        Allowed = Allowed,
        Reason = Reason,
        Policy = Decision?.Policy,
        Rule = Decision?.Rule,
        Version = Decision?.Version ?? 0,
        UpstreamStatus = UpstreamStatus,
        LatencyMs = latencyMs,
        TraceId = traceId,
        LeaseId = LeaseId,
        CredentialSource = CredentialSource,
    };
}
