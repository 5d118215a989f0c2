using Fabric.Contracts.Audit;
using Microsoft.Extensions.Options;

namespace Fabric.Silo.Audit;

public sealed class AuditOptions
{
    /// <summary>How many records the log keeps (memory: exactly; Redis: approximately, <c>MAXLEN ~</c>).</summary>
    public int Capacity { get; set; } = 10_000;

    /// <summary>How long a record id is remembered for de-duplication in Redis.</summary>
    public TimeSpan DeduplicationWindow { get; set; } = TimeSpan.FromDays(1);

    /// <summary>The Redis stream key.</summary>
    public string StreamKey { get; set; } = "fabric:audit";
}

/// <summary>
/// The embedded default: the newest <see cref="AuditOptions.Capacity"/> records in memory (lost
/// when the silo stops; use the Redis provider for a durable log). Cursors are positions in arrival order.
/// </summary>
public sealed class MemoryAuditStore(IOptions<AuditOptions> options) : IAuditStore
{
    private readonly Lock _lock = new();
    private readonly LinkedList<(long Sequence, AuditRecord Record)> _records = new();
    private readonly HashSet<Guid> _ids = [];
    // Each agent call's egress children (records whose parentRecordId it is), kept as long as the children are.
    private readonly Dictionary<Guid, List<AuditRecord>> _children = [];
    private long _sequence;

    public Task<IReadOnlyList<AuditRecord>> AppendAsync(IReadOnlyList<AuditRecord> records)
    {
        var capacity = Math.Max(1, options.Value.Capacity);
        var fresh = new List<AuditRecord>(records.Count);
        lock (_lock)
        {
            foreach (var record in records)
            {
                if (!_ids.Add(record.Id))
                {
                    continue;
                }
                fresh.Add(record);
                _records.AddFirst((++_sequence, record));
                if (record.ParentRecordId is { } parent)
                {
                    if (!_children.TryGetValue(parent, out var siblings))
                    {
                        _children[parent] = siblings = [];
                    }
                    siblings.Add(record);
                }
                if (_records.Count > capacity)
                {
                    var evicted = _records.Last!.Value.Record;
                    _ids.Remove(evicted.Id);
                    _records.RemoveLast();
                    if (evicted.ParentRecordId is { } evictedParent && _children.TryGetValue(evictedParent, out var left))
                    {
                        left.Remove(evicted);
                        if (left.Count == 0)
                        {
                            _children.Remove(evictedParent);
                        }
                    }
                }
            }
        }
        return Task.FromResult<IReadOnlyList<AuditRecord>>(fresh);
    }

    public Task<AuditPage> QueryAsync(AuditQuery query)
    {
        var matches = AuditFilter.For(query);
        var limit = Math.Clamp(query.Limit, 1, 1000);
        long? before = long.TryParse(query.Cursor, System.Globalization.CultureInfo.InvariantCulture, out var cursor) ? cursor : null;
        lock (_lock)
        {
            var page = _records
                .Where(r => before is null || r.Sequence < before)
                .Where(r => matches(r.Record))
                .Take(limit + 1)
                .ToList();
            var more = page.Count > limit;
            var records = page.Take(limit).ToList();
            var next = more ? records[^1].Sequence.ToString(System.Globalization.CultureInfo.InvariantCulture) : null;
            var children = query.WithChildren
                ? records.Where(r => _children.ContainsKey(r.Record.Id))
                    .ToDictionary(r => r.Record.Id, r => (IReadOnlyList<AuditRecord>)[.. _children[r.Record.Id].Take(AuditPage.MaxChildren)])
                : null;
            return Task.FromResult(new AuditPage(records.Select(r => r.Record).ToList(), next, children));
        }
    }
}

/// <summary>Which records a query selects: by workload, server, decision and parent (the agent call an egress call continued).</summary>
internal static class AuditFilter
{
    public static Func<AuditRecord, bool> For(AuditQuery query) => record =>
        (query.Workload is null || string.Equals(record.Workload, query.Workload, StringComparison.Ordinal))
        && (query.Edge is null || string.Equals(record.Edge, query.Edge, StringComparison.Ordinal))
        && (query.Server is null || string.Equals(record.Server, query.Server, StringComparison.Ordinal))
        && (query.Allowed is null || record.Allowed == query.Allowed)
        && (query.Parent is null || record.ParentRecordId == query.Parent);
}
