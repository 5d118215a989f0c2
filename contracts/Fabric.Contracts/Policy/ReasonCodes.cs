namespace Fabric.Contracts.Policy;

/// <summary>
/// The stable reason codes every decision carries. Operators search logs and audit for these
/// strings, so they never change; add new ones, never rename. The README lists them.
/// </summary>
public static class ReasonCodes
{
    public const string Allowed = "allowed";
    public const string NoMatchingAllow = "no-matching-allow";
    public const string ExplicitDeny = "explicit-deny";
    public const string ArgumentConstraint = "argument-constraint";
    public const string WorkloadDisabled = "workload-disabled";
    public const string UnknownServer = "unknown-server";
    public const string PolicyUnavailable = "policy-unavailable";
    public const string CredentialUnavailable = "credential-unavailable";
    public const string UpstreamIdentityMismatch = "upstream-identity-mismatch";
    /// <summary>A session id minted by an upstream for another workload.</summary>
    public const string SessionBindingMismatch = "session-binding-mismatch";
    /// <summary>A session id the fabric never saw an upstream mint.</summary>
    public const string UnknownSession = "unknown-session";
    /// <summary>The upstream could not be reached or failed at the transport level.</summary>
    public const string UpstreamUnavailable = "upstream-unavailable";
    /// <summary>An allowed call the agent abandoned (disconnected or cancelled) before its answer was complete.</summary>
    public const string ClientClosed = "client-closed";

    public static readonly IReadOnlyList<string> All =
    [
        Allowed, NoMatchingAllow, ExplicitDeny, ArgumentConstraint, WorkloadDisabled, UnknownServer,
        PolicyUnavailable, CredentialUnavailable, UpstreamIdentityMismatch, SessionBindingMismatch, UnknownSession,
        UpstreamUnavailable, ClientClosed,
    ];
}
