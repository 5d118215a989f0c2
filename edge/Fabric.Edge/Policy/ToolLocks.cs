using System.Collections.Concurrent;
using System.Text.Json;
using Fabric.Contracts.Policy;
using Fabric.Contracts.Servers;
using Fabric.Edge.Caching;
using Fabric.Edge.Hosting;
using Fabric.Edge.Mcp;
using Fabric.Edge.Pipeline;
using Fabric.Hosting;

namespace Fabric.Edge.Policy;

/// <summary>The items of one list answer as the lock sees them (every item, whatever the caller may see).</summary>
internal sealed class ToolLockObservation
{
    public Dictionary<LockedList, List<LockedItem>> Lists { get; } = [];

    /// <summary>The <c>params.cursor</c> the request asked for (null: the first page).</summary>
    public string? RequestCursor { get; set; }

    /// <summary>The answer's <c>result.nextCursor</c> (null: the last page); a page with one is not the whole set on its own.</summary>
    public string? NextCursor { get; set; }
}

/// <summary>
/// The tool lock's part of step 6 (issue 12 §1): a server's approved tool, prompt and resource-template definitions
/// (<see cref="ToolLockView"/>, cached, pushed on change). A call naming a tool or prompt the lock holds back (its
/// latest definition is not the approved one, or it is new since the approval) is denied with
/// <c>tool-definition-changed</c>; in a list answer such items are cut out like items the policy hides. What the
/// edge saw is reported to the lock grain when it differs from what this edge last reported: trust on first use
/// approves the first sight, later changes are held back until an admin approves them. The lock also carries the
/// tool annotations the operator attested (issue 12 §2), which rules on annotations match, in every mode.
/// </summary>
internal sealed partial class ToolLocks(EdgeCache cache, EdgeTelemetry telemetry, TimeProvider time, ILogger<ToolLocks> logger)
{
    private readonly ConcurrentDictionary<(string Server, LockedList List), string> _reported = new();

    /// <summary>A paged list being read by one caller: the items so far and the cursor its next page must ask for.</summary>
    private sealed record Pages(string NextCursor, Dictionary<LockedList, List<LockedItem>> Items, DateTimeOffset Started);

    private readonly ConcurrentDictionary<(string Server, string Workload, string Method), Pages> _pages = new();

    /// <summary>At most this many items are gathered from one paged list (a longer one is never reported whole).</summary>
    internal const int MaxPagedItems = 10_000;
    private static readonly TimeSpan PagesLifetime = TimeSpan.FromMinutes(2);

    /// <summary>Loads the lock for the messages it bears on; the cluster unreachable → 503, fail closed.</summary>
    public async ValueTask<bool> LoadAsync(McpExchange exchange)
    {
        if (exchange.IsEgress || exchange.Server is not { } server
            || exchange.Message is not { Kind: McpMessageKind.Request, Method: { } method } || !BearsOn(method))
        {
            return true;
        }
        // Off: only the operator's attested annotations matter, and only to a grant with rules on them.
        if (server.ToolLock == ToolLockMode.Off && !(exchange.Grant.MatchesAnnotations && method is "tools/call" or "tools/list"))
        {
            return true;
        }
        try
        {
            exchange.ToolLock = await cache.GetToolLockAsync(server.Name);
            return true;
        }
        catch (Exception ex) when (ClusterCalls.IsClusterFault(ex))
        {
            await Refusals.RefuseAsync(exchange, ReasonCodes.PolicyUnavailable, "The fabric could not read the server's tool lock; the call is denied. Retry shortly.");
            return false;
        }
    }

    private static bool BearsOn(string method) =>
        method is "tools/call" or "prompts/get" or "resources/read" or "tools/list" or "prompts/list" or "resources/templates/list";

    /// <summary>
    /// The lock's denial of an allowed call, or null: the tool's latest definition is not the approved one, or the
    /// server said its list changed and this edge has not seen the new list yet (it cannot know which tool changed).
    /// </summary>
    public Decision? Deny(McpExchange exchange)
    {
        if (exchange.ToolLock is not { } view || exchange.Message is not { Name: { } name, Method: { } method })
        {
            return null;
        }
        if (method == McpMethods.ResourcesRead)
        {
            // A read a changed (or new) resource template could serve waits for the template's approval too.
            return view.HoldsResource(name) ? Decision.Deny(ReasonCodes.ToolDefinitionChanged, exchange.Grant.Version) : null;
        }
        LockedList? list = method switch { "tools/call" => LockedList.Tools, "prompts/get" => LockedList.Prompts, _ => null };
        if (list is not { } locked)
        {
            return null;
        }
        return !view.Admits(locked, name) || view.IsSignalled(locked) || (view.Mode != ToolLockMode.Off && _signalled.ContainsKey((exchange.ServerName, locked)))
            ? Decision.Deny(ReasonCodes.ToolDefinitionChanged, exchange.Grant.Version)
            : null;
    }

    /// <summary>Lists whose server said they changed (list_changed) and whose new contents this edge has not seen yet.</summary>
    private readonly ConcurrentDictionary<(string Server, LockedList List), DateTimeOffset> _signalled = new();

    /// <summary>
    /// The server said a list changed (<c>notifications/…/list_changed</c> in one of its answers): until a whole new list
    /// is seen through this edge, calls to that list's items are held (<c>tool-definition-changed</c>), and that list is
    /// reported to the lock whatever this edge reported before.
    /// </summary>
    public void Signal(string server, LockedList list)
    {
        _signalled[(server, list)] = time.GetUtcNow();
        _reported.TryRemove((server, list), out _);
        telemetry.ToolsHeld.Add(1);
        LogSignalled(logger, server, list);
        // Every other edge holds the list too once the lock knows (this edge holds it already, whatever the cluster says).
        _ = SignalClusterAsync(server, list);
    }

    private async Task SignalClusterAsync(string server, LockedList list)
    {
        try
        {
            await cache.SignalToolLockAsync(server, list);
            Signalled?.Invoke(server, list);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // Off the request path and never awaited: whatever failed is logged; this edge holds the list regardless.
            LogReportFailed(logger, server, list, ex.GetType().Name + ": " + ex.Message);
        }
    }

    /// <summary>Raised once a list_changed was passed to the server's lock (every edge then holds the list): tests await it.</summary>
    internal event Action<string, LockedList>? Signalled;

    [LoggerMessage(EventId = 2321, Level = LogLevel.Information, Message = "{Server} said its {List} changed: calls to it are held until its new list is seen")]
    private static partial void LogSignalled(ILogger logger, string server, LockedList list);

    /// <summary>
    /// The list filter of a locked server's answer: what the policy shows, of which only items whose definition is the
    /// approved one; every item is recorded in <paramref name="observed"/>.
    /// </summary>
    public ListItemFilter Filter(ToolLockView view, ToolLockObservation observed, Func<McpCallKind, string, bool> visible) => (property, kind, name, item) =>
    {
        LockedList? list = property switch { "tools" => LockedList.Tools, "prompts" => LockedList.Prompts, "resourceTemplates" => LockedList.ResourceTemplates, _ => null };
        if (list is not { } locked)
        {
            return visible(kind, name);
        }
        LockedItem? seen;
        try
        {
            using var document = JsonDocument.Parse(item.ToArray());
            seen = LockDigest.Of(locked, document.RootElement);
        }
        catch (JsonException)
        {
            seen = null;
        }
        if (seen is null)
        {
            return false;
        }
        (observed.Lists.TryGetValue(locked, out var items) ? items : observed.Lists[locked] = []).Add(seen);
        if (!view.Shows(locked, seen.Name, seen.Digest))
        {
            telemetry.ToolsHeld.Add(1);
            return false;
        }
        return visible(kind, name);
    };

    /// <summary>Reports what the answer held, list by list, when it differs from this edge's last report; never faults.</summary>
    public async Task ReportAsync(McpExchange exchange)
    {
        if (exchange.Observed is not { } page || exchange.Server is not { } server || Whole(exchange, page) is not { } lists)
        {
            return;
        }
        foreach (var (list, items) in lists)
        {
            // The whole new list is seen: what the signal held back is decided by the lock again.
            _signalled.TryRemove((server.Name, list), out _);
            var digest = LockDigest.OfSet(items);
            // Reported already, unless the lock holds the list for a signal (another edge saw list_changed): this edge's
            // sight of the whole list answers it.
            if (_reported.TryGetValue((server.Name, list), out var last) && last == digest && exchange.ToolLock?.IsSignalled(list) != true)
            {
                continue;
            }
            try
            {
                await cache.ObserveToolsAsync(server.Name, list, items);
                _reported[(server.Name, list)] = digest;
                Reported?.Invoke(server.Name, list);
            }
            catch (Exception ex) when (ClusterCalls.IsClusterFault(ex))
            {
                LogReportFailed(logger, server.Name, list, ex.Message);
            }
        }
    }

    /// <summary>Raised once a list was reported to its lock (and the lock's new view is in the edge's cache): tests await it.</summary>
    internal event Action<string, LockedList>? Reported;

    /// <summary>
    /// The whole set once it is known: a list answered in one page, or the last page of a chain of pages the same caller
    /// read in order (each page asked with the cursor the previous one returned), joined. Null while pages are missing.
    /// </summary>
    private Dictionary<LockedList, List<LockedItem>>? Whole(McpExchange exchange, ToolLockObservation page)
    {
        var key = (exchange.ServerName, exchange.Workload?.ToString() ?? "", exchange.Message?.Method ?? "");
        var now = time.GetUtcNow();
        Dictionary<LockedList, List<LockedItem>> items;
        var started = now;
        if (page.RequestCursor is null)
        {
            items = [];
        }
        else if (_pages.TryRemove(key, out var chain) && chain.NextCursor == page.RequestCursor && now - chain.Started < PagesLifetime)
        {
            items = chain.Items;
            started = chain.Started;
        }
        else
        {
            return null; // a page out of any chain this edge followed: not the whole set
        }
        foreach (var (list, seen) in page.Lists)
        {
            (items.TryGetValue(list, out var gathered) ? gathered : items[list] = []).AddRange(seen);
        }
        if (items.Values.Sum(l => l.Count) > MaxPagedItems)
        {
            return null;
        }
        if (page.NextCursor is { } next)
        {
            _pages[key] = new Pages(next, items, started);
            if (_pages.Count > 10_000)
            {
                foreach (var (stale, old) in _pages)
                {
                    if (now - old.Started >= PagesLifetime)
                    {
                        _pages.TryRemove(stale, out _);
                    }
                }
            }
            return null;
        }
        return items;
    }

    [LoggerMessage(EventId = 2320, Level = LogLevel.Warning, Message = "The {List} of {Server} could not be reported to its tool lock: {Error}")]
    private static partial void LogReportFailed(ILogger logger, string server, LockedList list, string error);
}
