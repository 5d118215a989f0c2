namespace Fabric.Contracts.Audit;

/// <summary>
/// One decided MCP message. Ties the call to the calling identity; names the credential by lease
/// id only. Never holds a secret value.
/// </summary>
[GenerateSerializer, Immutable, SuppressReferenceTracking, Alias("fabric.audit-record")]
public sealed record AuditRecord
{
    [Id(0)] public required Guid Id { get; init; }
    [Id(1)] public required DateTimeOffset Time { get; init; }
    [Id(2)] public required string Edge { get; init; }
    [Id(3)] public required string Workload { get; init; }
    [Id(4)] public required string Server { get; init; }
    [Id(5)] public required string Method { get; init; }
    [Id(6)] public string? Name { get; init; }
    [Id(7)] public required bool Allowed { get; init; }
    [Id(8)] public required string Reason { get; init; }
    [Id(9)] public string? Policy { get; init; }
    [Id(10)] public int? Rule { get; init; }
    [Id(11)] public long Version { get; init; }
    [Id(12)] public int? UpstreamStatus { get; init; }
    [Id(13)] public double LatencyMs { get; init; }
    [Id(14)] public string? TraceId { get; init; }
    [Id(15)] public string? LeaseId { get; init; }
    [Id(16)] public string? CredentialSource { get; init; }
    /// <summary>The HTTP status the edge answered the agent with (0 when the agent hung up before one was sent).</summary>
    [Id(17)] public int Status { get; init; }
    /// <summary>How many times the spliced credential (in any encoding the edge scans for) was masked out of the answer.</summary>
    [Id(18)] public int CredentialReflected { get; init; }
    /// <summary>How the caller proved its SPIFFE ID: <c>x509-svid</c> (mTLS) or <c>jwt-svid</c> (a bearer token); null before any identity.</summary>
    [Id(19)] public string? Auth { get; init; }
    /// <summary>The sequence of the bundle (of the caller's own trust domain, <see cref="Workload"/>'s) its SVID was validated with.</summary>
    [Id(20)] public long? BundleSequence { get; init; }
    /// <summary>
    /// For a call a federated fabric's edge carried in (an ingress edge's record): that edge's SPIFFE ID, the transport
    /// identity; <see cref="Workload"/> is then the agent its JWT-SVID names. Null for a direct caller.
    /// </summary>
    [Id(21)] public string? Via { get; init; }
    /// <summary>
    /// <c>egress</c> for an MCP server's outbound call (<see cref="Workload"/> the server's identity, <see cref="Server"/>
    /// the egress target, <see cref="Method"/> the HTTP method, <see cref="Name"/> the path without the query); null for an MCP call.
    /// </summary>
    [Id(22)] public string? Kind { get; init; }
    /// <summary>For an egress record: the agent call (its record id) that caused it, when the server propagated that call's trace context.</summary>
    [Id(23)] public Guid? ParentRecordId { get; init; }
    /// <summary>
    /// For an egress record: the agent the calling process serves, when the edge knows it (a <c>perWorkload</c> launched
    /// server: every call of its process is that agent's); a per-agent egress credential is leased for it.
    /// </summary>
    [Id(24)] public string? OnBehalfOf { get; init; }
    /// <summary>This record's place in its edge's chain: 1, 2, 3, … without gaps across restarts (issue 12 §7).</summary>
    [Id(25)] public long Sequence { get; init; }
    /// <summary>The <see cref="Hash"/> of the edge's previous record (null for the first).</summary>
    [Id(26)] public string? PreviousHash { get; init; }
    /// <summary>SHA-256 (hex) of this record's canonical JSON without <see cref="Hash"/>, <see cref="Signature"/>, <see cref="SignerCertificate"/>.</summary>
    [Id(27)] public string? Hash { get; init; }
    /// <summary>On a checkpoint record: the edge's ECDSA signature (base64) over <see cref="Hash"/> with its SVID key.</summary>
    [Id(28)] public string? Signature { get; init; }
    /// <summary>On a checkpoint record: the edge's X.509-SVID (PEM) the signature verifies with.</summary>
    [Id(29)] public string? SignerCertificate { get; init; }
    /// <summary>
    /// The approval request (issue 12 §3) the record is about: a call refused while it waits, the call it let through,
    /// or the request itself denied, expired or cancelled (<see cref="Kind"/> <c>approval-…</c>). Left out of the JSON
    /// when null, so records written before it existed hash as they did.
    /// </summary>
    [Id(30)]
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public string? ApprovalId { get; init; }
}

/// <summary>A query over the audit log; newest first. <see cref="Cursor"/> continues from a previous page.</summary>
[GenerateSerializer, Immutable, Alias("fabric.audit-query")]
public sealed record AuditQuery(
    [property: Id(0)] string? Workload,
    [property: Id(1)] string? Server,
    [property: Id(2)] bool? Allowed,
    [property: Id(3)] int Limit,
    [property: Id(4)] string? Cursor = null,
    [property: Id(5)] Guid? Parent = null,
    [property: Id(6)] bool WithChildren = false,
    [property: Id(7)] string? Edge = null);

/// <summary>
/// One page of audit records, newest first; <see cref="NextCursor"/> is null on the last page. With
/// <see cref="AuditQuery.WithChildren"/>, <see cref="Children"/> holds, per record of the page that caused any, the
/// egress calls whose <c>parentRecordId</c> it is (oldest first, at most <see cref="MaxChildren"/> each).
/// </summary>
[GenerateSerializer, Immutable, Alias("fabric.audit-page")]
public sealed record AuditPage(
    [property: Id(0)] IReadOnlyList<AuditRecord> Records,
    [property: Id(1)] string? NextCursor,
    [property: Id(2)] IReadOnlyDictionary<Guid, IReadOnlyList<AuditRecord>>? Children = null)
{
    public const int MaxChildren = 100;
}
