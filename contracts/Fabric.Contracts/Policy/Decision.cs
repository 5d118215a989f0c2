namespace Fabric.Contracts.Policy;

/// <summary>
/// The answer to "may this identity make this MCP call". <see cref="Reason"/> is one of
/// <see cref="ReasonCodes"/>; <see cref="Policy"/> and <see cref="Rule"/> name what matched (rule is
/// the zero-based index within the policy); <see cref="Version"/> is the catalog version decided under.
/// <see cref="RetryAfterMs"/> tells a <c>rate-limited</c> caller when its budget's window ends; <see cref="ApprovalId"/>
/// names the approval an <c>approval-required</c> call waits for.
/// </summary>
[GenerateSerializer, Immutable, Alias("fabric.decision")]
public sealed record Decision(
    [property: Id(0)] bool Allowed,
    [property: Id(1)] string Reason,
    [property: Id(2)] string? Policy,
    [property: Id(3)] int? Rule,
    [property: Id(4)] long Version,
    [property: Id(5)] long? RetryAfterMs = null,
    [property: Id(6)] string? ApprovalId = null)
{
    public static Decision Deny(string reason, long version, string? policy = null, int? rule = null) =>
        new(false, reason, policy, rule, version);

    public static Decision Allow(long version, string policy, int rule) =>
        new(true, ReasonCodes.Allowed, policy, rule, version);
}
