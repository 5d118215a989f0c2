namespace Fabric.Contracts.Policy;

/// <summary>
/// The four MCP tool annotation hints (issue 12 §2). As an <em>attestation</em> the operator pinned them for one tool
/// in its server's tool lock; as a rule's <c>annotations</c> they are what the rule matches. The MCP specification
/// says clients must treat annotations from untrusted servers as untrusted, so the fabric never decides on what a
/// server reports: only on what the operator attested. A null hint is unattested (in an attestation) or not
/// constrained (in a rule).
/// A member that is not one of the four hints is refused when read from JSON (a misspelt hint must not leave a
/// broader pattern or attestation than the one written).
/// </summary>
[GenerateSerializer, Immutable, Alias("fabric.tool-annotations")]
[System.Text.Json.Serialization.JsonUnmappedMemberHandling(System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow)]
public sealed record ToolAnnotations(
    [property: Id(0)] bool? ReadOnlyHint = null,
    [property: Id(1)] bool? DestructiveHint = null,
    [property: Id(2)] bool? IdempotentHint = null,
    [property: Id(3)] bool? OpenWorldHint = null)
{
    /// <summary>True when no hint is set.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public bool IsEmpty => ReadOnlyHint is null && DestructiveHint is null && IdempotentHint is null && OpenWorldHint is null;

    /// <summary>
    /// Whether a tool attested as <paramref name="attested"/> matches this rule pattern: every hint the pattern sets is
    /// attested, with the same value. An unattested tool (null), or one whose attestation leaves a hint the pattern
    /// sets open, matches nothing: a rule on <c>destructiveHint: false</c> must not let through a tool nobody vouched for.
    /// </summary>
    public bool Matches(ToolAnnotations? attested) =>
        attested is not null
        && Same(ReadOnlyHint, attested.ReadOnlyHint)
        && Same(DestructiveHint, attested.DestructiveHint)
        && Same(IdempotentHint, attested.IdempotentHint)
        && Same(OpenWorldHint, attested.OpenWorldHint);

    private static bool Same(bool? wanted, bool? attested) => wanted is not { } value || attested == value;
}
