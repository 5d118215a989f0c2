using Fabric.Contracts.Servers;

namespace Fabric.Contracts.Grains;

/// <summary>
/// One change that may end leases, carrying its new value. The grain that made the change is still
/// in its call while the leases reconcile, so they take the new state from here instead of reading
/// it back from that grain (issue 9 §2: grains do not call back into their caller).
/// </summary>
[GenerateSerializer, Immutable, Alias("fabric.lease-change")]
public sealed record LeaseChange
{
    [Id(0)] public required LeaseChangeKind Kind { get; init; }

    /// <summary><see cref="LeaseChangeKind.Server"/>: the new definition; null when the server was deleted.</summary>
    [Id(1)] public McpServerDefinition? Server { get; init; }

    /// <summary>
    /// <see cref="LeaseChangeKind.Workload"/>: whether the workload is enabled now;
    /// <see cref="LeaseChangeKind.Grant"/>: whether the workload's new grant still allows the server.
    /// </summary>
    [Id(2)] public bool StillAllowed { get; init; }

    /// <summary><see cref="LeaseChangeKind.LocalSecret"/>: the secret that changed.</summary>
    [Id(3)] public string? SecretName { get; init; }

    /// <summary><see cref="LeaseChangeKind.LocalSecret"/>: its new value; null when it was deleted.</summary>
    [Id(4)] public SecretReveal? Secret { get; init; }

    public static LeaseChange ServerChanged(McpServerDefinition? definition) =>
        new() { Kind = LeaseChangeKind.Server, Server = definition };

    public static LeaseChange WorkloadChanged(bool enabled) =>
        new() { Kind = LeaseChangeKind.Workload, StillAllowed = enabled };

    public static LeaseChange GrantChanged(bool allowsServer) =>
        new() { Kind = LeaseChangeKind.Grant, StillAllowed = allowsServer };

    public static LeaseChange LocalSecretChanged(string name, SecretReveal? secret) =>
        new() { Kind = LeaseChangeKind.LocalSecret, SecretName = name, Secret = secret };
}

[GenerateSerializer, Alias("fabric.lease-change-kind")]
public enum LeaseChangeKind
{
    Server,
    Workload,
    Grant,
    LocalSecret,
}
