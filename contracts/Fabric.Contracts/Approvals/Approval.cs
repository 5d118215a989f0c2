using Fabric.Contracts.Policy;

namespace Fabric.Contracts.Approvals;

/// <summary>Where an approval request is in its life. Only <see cref="Pending"/> can be decided.</summary>
[GenerateSerializer, Alias("fabric.approval-state")]
public enum ApprovalState
{
    Pending = 0,
    /// <summary>An admin approved it: the next identical call is forwarded once.</summary>
    Approved = 1,
    Denied = 2,
    /// <summary>Approved, and the call it approved was forwarded.</summary>
    Consumed = 3,
    /// <summary>Nobody decided (or nobody used the approval) before it expired.</summary>
    Expired = 4,
    /// <summary>Its identity's access was revoked while it waited.</summary>
    Cancelled = 5,
}

/// <summary>
/// What an approval is for (issue 12 §3): one identity's call of one tool on one server with exactly these arguments
/// (SHA-256, hex, of their canonical JSON: members sorted by name, no insignificant whitespace). Another identity,
/// tool, server or any other argument is another approval.
/// </summary>
[GenerateSerializer, Immutable, Alias("fabric.approval-binding")]
public sealed record ApprovalBinding(
    [property: Id(0)] string Workload,
    [property: Id(1)] string Server,
    [property: Id(2)] string Tool,
    [property: Id(3)] string ArgumentsSha256);

/// <summary>One approval request as the fabric keeps it.</summary>
[GenerateSerializer, Immutable, Alias("fabric.approval-request")]
public sealed record ApprovalRequest(
    [property: Id(0)] string Id,
    [property: Id(1)] ApprovalBinding Binding,
    [property: Id(2)] string Policy,
    [property: Id(3)] int Rule,
    [property: Id(4)] DateTimeOffset CreatedAt,
    [property: Id(5)] DateTimeOffset ExpiresAt,
    [property: Id(6)] ApprovalState State,
    [property: Id(7)] DateTimeOffset? DecidedAt = null,
    [property: Id(8)] string? DecidedBy = null);

/// <summary>
/// The answer to an edge asking for a call that needs approval: <see cref="ApprovalState.Approved"/> means forward it
/// now (the approval is consumed by this answer); <see cref="ApprovalState.Pending"/> or
/// <see cref="ApprovalState.Denied"/> mean do not.
/// </summary>
[GenerateSerializer, Immutable, Alias("fabric.approval-answer")]
public sealed record ApprovalAnswer(
    [property: Id(0)] ApprovalState State,
    [property: Id(1)] string Id,
    [property: Id(2)] DateTimeOffset ExpiresAt);

/// <summary>How an admin's decision ended.</summary>
[GenerateSerializer, Alias("fabric.approval-decision-outcome")]
public enum ApprovalDecisionOutcome
{
    Decided = 0,
    NotFound = 1,
    /// <summary>It was not pending any more (decided, consumed, expired, cancelled).</summary>
    NotPending = 2,
}

[GenerateSerializer, Immutable, Alias("fabric.approval-decision")]
public sealed record ApprovalDecision(
    [property: Id(0)] ApprovalDecisionOutcome Outcome,
    [property: Id(1)] ApprovalRequest? Request);

/// <summary>Approval ids: <c>apr_</c> and 26 lowercase base32 characters (130 random bits).</summary>
public static class ApprovalIds
{
    public const string Prefix = "apr_";
    private const string Alphabet = "abcdefghijklmnopqrstuvwxyz234567";
    private static readonly System.Buffers.SearchValues<char> AlphabetValues = System.Buffers.SearchValues.Create(Alphabet);

    public static string New() => Prefix + System.Security.Cryptography.RandomNumberGenerator.GetString(Alphabet, 26);

    /// <summary>True for something <see cref="New"/> could have made (anything else is not looked up).</summary>
    public static bool IsWellFormed(string? id) =>
        id is { Length: 30 } && id.StartsWith(Prefix, StringComparison.Ordinal) && id.AsSpan(4).IndexOfAnyExcept(AlphabetValues) < 0;
}
