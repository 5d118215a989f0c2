using System.Collections.Immutable;
using Fabric.Contracts.Audit;
using Fabric.Contracts.Policy;
using Fabric.Contracts.Servers;

namespace Fabric.Silo.Grains;

[GenerateSerializer, Alias("fabric.tool-lock-grain-state")]
public sealed class ToolLockGrainState
{
    [Id(0)] public Dictionary<LockedList, Dictionary<string, LockedItem>> Approved { get; set; } = [];
    [Id(1)] public Dictionary<LockedList, Dictionary<string, LockedItem>> Current { get; set; } = [];
    [Id(2)] public long Version { get; set; }
    /// <summary>Operator-attested annotations by tool name (issue 12 §2).</summary>
    [Id(3)] public Dictionary<string, ToolAnnotations> Attested { get; set; } = [];
    /// <summary>Lists the server said changed, whose new contents no edge has reported yet.</summary>
    [Id(4)] public HashSet<LockedList> Signalled { get; set; } = [];
}

/// <summary>
/// One server's tool lock (issue 12 §1). Edges report each list the upstream answered (only when it differs from what
/// they last reported); the first sight of a list under trust on first use is its approval; every later change holds
/// the changed or new items back (hidden from lists, calls denied with <c>tool-definition-changed</c>) until an admin
/// approves the set by its digest. Each newly held item is an audit record (<c>kind: tool-drift</c>). Removed items
/// simply stop being listed; unchanged items keep working throughout.
/// </summary>
public sealed partial class ToolLockGrain(
    [PersistentState("toolLock", GrainStorage.Name)] IPersistentState<ToolLockGrainState> state,
    TimeProvider time,
    ILogger<ToolLockGrain> logger) : Grain, IToolLockGrain
{
    private string Server => this.GetPrimaryKeyString();

    public async ValueTask<ToolLockView> GetViewAsync() => View(await ModeAsync());

    public async ValueTask<ToolLockState> GetAsync()
    {
        var mode = await ModeAsync();
        return new ToolLockState(mode,
            state.State.Approved.ToDictionary(e => e.Key, e => (IReadOnlyList<LockedItem>)[.. e.Value.Values.OrderBy(i => i.Name, StringComparer.Ordinal)]),
            state.State.Current.ToDictionary(e => e.Key, e => (IReadOnlyList<LockedItem>)[.. e.Value.Values.OrderBy(i => i.Name, StringComparer.Ordinal)]),
            state.State.Version,
            state.State.Attested.ToDictionary(StringComparer.Ordinal));
    }

    public async ValueTask<bool> AttestAsync(string tool, ToolAnnotations? annotations)
    {
        ArgumentException.ThrowIfNullOrEmpty(tool);
        if (annotations is null || annotations.IsEmpty)
        {
            if (!state.State.Attested.Remove(tool))
            {
                return false;
            }
        }
        else if (state.State.Attested.TryGetValue(tool, out var pinned) && pinned == annotations)
        {
            return false;
        }
        else
        {
            state.State.Attested[tool] = annotations;
        }
        LogAttested(logger, Server, tool, annotations?.ToString() ?? "nothing");
        await PublishAsync();
        return true;
    }

    public async ValueTask<ToolLockView> ObserveAsync(LockedList list, IReadOnlyList<LockedItem> items)
    {
        var mode = await ModeAsync();
        if (mode == ToolLockMode.Off || !Enum.IsDefined(list))
        {
            return View(mode);
        }
        // One item per name: a list naming one twice is held to its first definition (the second cannot be approved apart).
        var seen = new Dictionary<string, LockedItem>(StringComparer.Ordinal);
        foreach (var item in items)
        {
            seen.TryAdd(item.Name, item);
        }
        // The whole list is seen: a signal that held it is answered, whether or not the list changed.
        var answered = state.State.Signalled.Remove(list);
        var previous = state.State.Current.GetValueOrDefault(list);
        if (previous is not null && previous.Count == seen.Count && seen.All(i => previous.TryGetValue(i.Key, out var p) && p.Digest == i.Value.Digest))
        {
            if (answered)
            {
                await PublishAsync();
            }
            return View(mode);
        }
        var heldBefore = Held(list);
        state.State.Current[list] = seen;
        var firstSight = !state.State.Approved.ContainsKey(list);
        if (firstSight && mode == ToolLockMode.TrustOnFirstUse)
        {
            state.State.Approved[list] = new Dictionary<string, LockedItem>(seen, StringComparer.Ordinal);
            LogTrusted(logger, Server, list, seen.Count);
        }
        state.State.Version++;
        await state.WriteStateAsync();
        var drifted = Held(list).Except(heldBefore).Order(StringComparer.Ordinal).ToList();
        if (drifted.Count > 0)
        {
            LogDrift(logger, Server, list, string.Join(", ", drifted));
            Fabric.Silo.Hosting.SiloTelemetry.ToolDrift.Add(drifted.Count, new KeyValuePair<string, object?>("server", Server), new KeyValuePair<string, object?>("list", list.ToString()));
            await AuditDriftAsync(list, drifted);
        }
        await GrainFactory.Hub().PublishAsync(new Invalidation(InvalidationKind.ToolLock, Server, state.State.Version));
        return View(mode);
    }

    public async ValueTask SignalAsync(LockedList list)
    {
        if (!Enum.IsDefined(list) || state.State.Signalled.Contains(list) || await ModeAsync() == ToolLockMode.Off)
        {
            return;
        }
        state.State.Signalled.Add(list);
        LogSignalled(logger, Server, list);
        await PublishAsync();
    }

    /// <summary>A new version of the view, stored and pushed to every edge.</summary>
    private async Task PublishAsync()
    {
        state.State.Version++;
        await state.WriteStateAsync();
        await GrainFactory.Hub().PublishAsync(new Invalidation(InvalidationKind.ToolLock, Server, state.State.Version));
    }

    public async ValueTask<bool> ApproveAsync(LockedList list, string setDigest)
    {
        var current = state.State.Current.GetValueOrDefault(list) ?? [];
        if (!string.Equals(LockDigest.OfSet(current.Values), setDigest, StringComparison.Ordinal))
        {
            return false;
        }
        state.State.Approved[list] = new Dictionary<string, LockedItem>(current, StringComparer.Ordinal);
        LogApproved(logger, Server, list, setDigest);
        await PublishAsync();
        return true;
    }

    public async ValueTask ResetAsync()
    {
        if (state.State.Approved.Count == 0 && state.State.Current.Count == 0 && state.State.Attested.Count == 0 && state.State.Signalled.Count == 0)
        {
            return;
        }
        state.State.Approved.Clear();
        state.State.Current.Clear();
        state.State.Attested.Clear();
        state.State.Signalled.Clear();
        await PublishAsync();
    }

    /// <summary>Items whose latest seen definition is not the approved one: changed, or new since the approval.</summary>
    private HashSet<string> Held(LockedList list)
    {
        var held = new HashSet<string>(StringComparer.Ordinal);
        if (!state.State.Current.TryGetValue(list, out var current))
        {
            return held;
        }
        var approved = state.State.Approved.GetValueOrDefault(list);
        foreach (var (name, item) in current)
        {
            if (approved is null || !approved.TryGetValue(name, out var ok) || ok.Digest != item.Digest)
            {
                held.Add(name);
            }
        }
        return held;
    }

    private ToolLockView View(ToolLockMode mode) => new(
        mode,
        state.State.Approved.ToImmutableDictionary(e => e.Key, e => e.Value.ToImmutableDictionary(i => i.Key, i => i.Value.Digest, StringComparer.Ordinal)),
        state.State.Current.Keys.ToImmutableDictionary(list => list, list => Held(list).ToImmutableHashSet(StringComparer.Ordinal)),
        state.State.Version,
        state.State.Approved.TryGetValue(LockedList.Tools, out var tools)
            ? tools.Values.Select(t => (t.Name, Headers: ToolLockView.ParamHeadersIn(t.Canonical))).Where(t => t.Headers.Count > 0)
                .ToImmutableDictionary(t => t.Name, t => t.Headers, StringComparer.Ordinal)
            : null,
        state.State.Attested.Count == 0 ? null : state.State.Attested.ToImmutableDictionary(StringComparer.Ordinal),
        state.State.Signalled.Count == 0 ? null : [.. state.State.Signalled]);

    private async Task<ToolLockMode> ModeAsync() =>
        await GrainFactory.Server(Server).GetAsync() is { } definition ? definition.ToolLock : ToolLockMode.Off;

    private async Task AuditDriftAsync(LockedList list, IReadOnlyList<string> names)
    {
        var now = time.GetUtcNow();
        var records = names.Select(name => new AuditRecord
        {
            Id = Guid.NewGuid(),
            Time = now,
            Edge = "silo",
            Workload = "fabric:tool-lock",
            Server = Server,
            Method = list switch { LockedList.Tools => "tools/list", LockedList.Prompts => "prompts/list", _ => "resources/templates/list" },
            Name = name,
            Allowed = false,
            Reason = ReasonCodes.ToolDefinitionChanged,
            Kind = "tool-drift",
        }).ToList();
        try
        {
            await GrainFactory.Audit().AppendAsync(records);
        }
        catch (OrleansException ex)
        {
            LogAuditFailed(logger, Server, ex.Message);
        }
    }

    [LoggerMessage(EventId = 3401, Level = LogLevel.Information, Message = "Tool lock of {Server}: first sight of {List} ({Count} items) trusted")]
    private static partial void LogTrusted(ILogger logger, string server, LockedList list, int count);

    [LoggerMessage(EventId = 3402, Level = LogLevel.Warning, Message = "Tool lock of {Server}: {List} changed; held back until approved: {Names}")]
    private static partial void LogDrift(ILogger logger, string server, LockedList list, string names);

    [LoggerMessage(EventId = 3403, Level = LogLevel.Information, Message = "Tool lock of {Server}: {List} approved at {Digest}")]
    private static partial void LogApproved(ILogger logger, string server, LockedList list, string digest);

    [LoggerMessage(EventId = 3405, Level = LogLevel.Warning, Message = "Tool lock of {Server}: annotations of {Tool} attested as {Annotations}")]
    private static partial void LogAttested(ILogger logger, string server, string tool, string annotations);

    [LoggerMessage(EventId = 3406, Level = LogLevel.Information, Message = "Tool lock of {Server}: the server said its {List} changed; calls to it are held on every edge until its new list is seen")]
    private static partial void LogSignalled(ILogger logger, string server, LockedList list);

    [LoggerMessage(EventId = 3404, Level = LogLevel.Warning, Message = "Tool lock of {Server}: the drift could not be audited: {Error}")]
    private static partial void LogAuditFailed(ILogger logger, string server, string error);
}
