namespace Fabric.Contracts.Servers;

/// <summary>
/// A leased credential as handed to an edge for splicing. The value lives only in memory; its
/// <see cref="ToString"/> never shows it, so an accidental log line or exception message cannot leak it.
/// </summary>
[GenerateSerializer, Immutable, Alias("fabric.credential")]
public sealed class Credential
{
    [Id(0)] public required string LeaseId { get; init; }
    [Id(1)] public required string Source { get; init; }
    [Id(2)] public required string HeaderName { get; init; }
    /// <summary>The rendered header value, secret included. Never log, audit or return it.</summary>
    [Id(3)] public required string HeaderValue { get; init; }
    [Id(4)] public required DateTimeOffset ExpiresAt { get; init; }

    public override string ToString() => $"Credential(lease={LeaseId}, source={Source}, header={HeaderName}, value=***)";
}

/// <summary>The answer of a lease grain: a credential, or why there is none.</summary>
[GenerateSerializer, Immutable, Alias("fabric.credential-result")]
public sealed record CredentialResult(
    [property: Id(0)] Credential? Credential,
    [property: Id(1)] string? Error);
