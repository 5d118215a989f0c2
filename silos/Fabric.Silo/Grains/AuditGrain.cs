using Fabric.Contracts.Audit;
using Microsoft.Extensions.Options;

namespace Fabric.Silo.Grains;

public sealed class AuditOptions
{
    /// <summary>How many records the in-cluster log keeps; the oldest go first.</summary>
    public int Capacity { get; set; } = 10_000;
}

/// <summary>
/// The bounded, queryable audit log. Edges ship records in batches; the grain keeps the newest
/// <see cref="AuditOptions.Capacity"/> in memory (kept active, never collected) and forwards the
/// allowed/denied counts to each workload grain. Durable audit (Redis Streams) is a later step.
/// </summary>
public sealed class AuditGrain(IOptions<AuditOptions> options) : Grain, IAuditGrain
{
    private readonly LinkedList<AuditRecord> _records = new();
    private readonly HashSet<Guid> _ids = [];

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        DelayDeactivation(TimeSpan.FromDays(3650));
        return Task.CompletedTask;
    }

    public async ValueTask AppendAsync(IReadOnlyList<AuditRecord> records)
    {
        var capacity = Math.Max(1, options.Value.Capacity);
        var fresh = new List<AuditRecord>(records.Count);
        foreach (var record in records)
        {
            // Edges retry a batch whose acknowledgement they lost: ids make that idempotent.
            if (!_ids.Add(record.Id))
            {
                continue;
            }
            fresh.Add(record);
            _records.AddFirst(record);
            if (_records.Count > capacity)
            {
                _ids.Remove(_records.Last!.Value.Id);
                _records.RemoveLast();
            }
        }

        var counts = fresh.GroupBy(r => r.Workload, StringComparer.Ordinal)
            .Select(g => GrainFactory.Workload(g.Key).RecordAsync(g.LongCount(r => r.Allowed), g.LongCount(r => !r.Allowed)).AsTask());
        await Task.WhenAll(counts);
    }

    public ValueTask<IReadOnlyList<AuditRecord>> QueryAsync(AuditQuery query)
    {
        var limit = Math.Clamp(query.Limit, 1, 1000);
        IReadOnlyList<AuditRecord> result = [.. _records
            .Where(r => query.Workload is null || string.Equals(r.Workload, query.Workload, StringComparison.Ordinal))
            .Where(r => query.Server is null || string.Equals(r.Server, query.Server, StringComparison.Ordinal))
            .Where(r => query.Allowed is null || r.Allowed == query.Allowed)
            .Take(limit)];
        return ValueTask.FromResult(result);
    }
}
