using Fabric.Contracts.Servers;

namespace Fabric.Contracts.Grains;

/// <summary>One server's tool lock (key = server name): approved and last seen definitions of its tools, prompts and resource templates.</summary>
[Alias("fabric.IToolLockGrain")]
public interface IToolLockGrain : IGrainWithStringKey
{
    /// <summary>What edges hold the server's lists to (cached; pushed as <see cref="InvalidationKind.ToolLock"/> on change).</summary>
    [Alias("View"), AlwaysInterleave]
    ValueTask<ToolLockView> GetViewAsync();

    /// <summary>A list as an edge saw it in an upstream's answer (the whole list); returns the view that now applies.</summary>
    [Alias("Observe")]
    ValueTask<ToolLockView> ObserveAsync(LockedList list, IReadOnlyList<LockedItem> items);

    /// <summary>
    /// The server said <paramref name="list"/> changed (an edge saw its <c>notifications/…/list_changed</c>): every edge
    /// holds calls to that list's items until one reports the whole new list (<see cref="ObserveAsync"/>).
    /// </summary>
    [Alias("Signal")]
    ValueTask SignalAsync(LockedList list);

    /// <summary>Approved and current items of every list, for review.</summary>
    [Alias("Get"), AlwaysInterleave]
    ValueTask<ToolLockState> GetAsync();

    /// <summary>
    /// Approves the current set of <paramref name="list"/> if its digest is <paramref name="setDigest"/> (what the
    /// reviewer saw); false when the set changed since (nothing approved).
    /// </summary>
    [Alias("Approve")]
    ValueTask<bool> ApproveAsync(LockedList list, string setDigest);

    /// <summary>
    /// Pins what the operator attests about one tool's annotations (issue 12 §2), or with null removes the attestation;
    /// false when nothing changed. Attestations are by tool name, whatever the server reports and whether it listed the
    /// tool yet; under a lock a changed definition is held back anyway until approved.
    /// </summary>
    [Alias("Attest")]
    ValueTask<bool> AttestAsync(string tool, Fabric.Contracts.Policy.ToolAnnotations? annotations);

    /// <summary>Forgets every approval and sighting (the server was deleted: a server re-created under its name starts afresh).</summary>
    [Alias("Reset")]
    ValueTask ResetAsync();
}

/// <summary>A lock's lists, approved and as last seen.</summary>
[GenerateSerializer, Immutable, Alias("fabric.tool-lock-state")]
public sealed record ToolLockState(
    [property: Id(0)] ToolLockMode Mode,
    [property: Id(1)] IReadOnlyDictionary<LockedList, IReadOnlyList<LockedItem>> Approved,
    [property: Id(2)] IReadOnlyDictionary<LockedList, IReadOnlyList<LockedItem>> Current,
    [property: Id(3)] long Version,
    [property: Id(4)] IReadOnlyDictionary<string, Fabric.Contracts.Policy.ToolAnnotations>? Attested = null);
