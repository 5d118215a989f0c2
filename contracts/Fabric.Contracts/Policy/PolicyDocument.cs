namespace Fabric.Contracts.Policy;

/// <summary>
/// A named policy: who it applies to (SPIFFE ID patterns) and what it allows or denies. With
/// <see cref="Auth"/> <c>mtls</c> its allow rules apply only to callers that proved their ID with an X.509-SVID
/// (not a bearer JWT-SVID); its deny rules apply to every caller, so the setting can only ever take access away.
/// </summary>
[GenerateSerializer, Immutable, Alias("fabric.policy")]
public sealed record PolicyDocument(
    [property: Id(0)] string Name,
    [property: Id(1)] IReadOnlyList<string> Subjects,
    [property: Id(2)] IReadOnlyList<PolicyRule> Rules,
    [property: Id(3)] PolicyAuth Auth = PolicyAuth.Any);

/// <summary>How a caller must have proved its SPIFFE ID for a policy's allow rules to apply.</summary>
[GenerateSerializer, Alias("fabric.policy-auth")]
public enum PolicyAuth
{
    /// <summary>An X.509-SVID (mTLS) or a JWT-SVID.</summary>
    Any = 0,
    /// <summary>An X.509-SVID only.</summary>
    Mtls = 1,
}

/// <summary>
/// One rule: on <see cref="Server"/> (a glob), <see cref="Effect"/> applies to the named tools,
/// resources and prompts (globs). A rule that names none of the three (and no <see cref="Methods"/>)
/// applies to every tool, resource and prompt of the server. <see cref="When"/> constrains tool arguments.
/// <see cref="Annotations"/> narrows a rule to tools (those its <see cref="Tools"/> globs match, or every tool) whose
/// operator-attested annotations match (<see cref="ToolAnnotations.Matches"/>); such a rule never covers resources,
/// prompts or methods, and never the whole server. <see cref="Limit"/> (allow rules only) budgets the tool calls the
/// rule allows: see <see cref="PolicyEvaluator.ChargesOf"/>.
/// <see cref="Methods"/> names extension methods (in no MCP method table, e.g. <c>x/custom</c>) exactly.
/// <para>
/// An <em>egress rule</em> names <see cref="Egress"/> (a glob of egress target names) instead of a server
/// (<see cref="Server"/> is then empty and matches no server): it applies to the outbound HTTP calls of the MCP
/// servers whose identities are the policy's subjects, to the HTTP <see cref="Methods"/> it lists (all when absent)
/// and the request paths its <see cref="Paths"/> globs match (all when absent). See <see cref="EgressEvaluator"/>.
/// </para>
/// </summary>
[GenerateSerializer, Immutable, Alias("fabric.policy-rule")]
public sealed record PolicyRule(
    [property: Id(0)] string Server,
    [property: Id(1)] PolicyEffect Effect,
    [property: Id(2)] IReadOnlyList<string>? Tools = null,
    [property: Id(3)] IReadOnlyList<string>? Resources = null,
    [property: Id(4)] IReadOnlyList<string>? Prompts = null,
    [property: Id(5)] PolicyCondition? When = null,
    [property: Id(6)] IReadOnlyList<string>? Methods = null,
    [property: Id(7)] string? Egress = null,
    [property: Id(8)] IReadOnlyList<string>? Paths = null,
    [property: Id(9)] ToolAnnotations? Annotations = null,
    [property: Id(10)] CallLimit? Limit = null)
{
    /// <summary>True for an egress rule (outbound calls of MCP servers), false for a rule on MCP calls to a server.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public bool IsEgress => Egress is not null;
}

/// <summary>Argument constraints: each named argument must be present and match its glob.</summary>
[GenerateSerializer, Immutable, Alias("fabric.policy-condition")]
public sealed record PolicyCondition(
    [property: Id(0)] IReadOnlyDictionary<string, string>? Arguments,
    [property: Id(1)] ApprovalRequirement? Approval = null);

/// <summary><c>when.approval</c> (issue 12 §3): a call the rule allows waits for an admin's approval.</summary>
[GenerateSerializer, Alias("fabric.approval-requirement")]
public enum ApprovalRequirement
{
    Required = 1,
}

[GenerateSerializer, Alias("fabric.policy-effect")]
public enum PolicyEffect
{
    Allow = 0,
    Deny = 1,
}
