using Fabric.Contracts.Audit;
using Fabric.Silo.Audit;

namespace Fabric.Silo.Grains;

/// <summary>
/// The audit log's front door. Edges ship records in batches; the store (memory, or a Redis Stream
/// in cluster mode) keeps them, idempotently by record id, and the grain forwards the allowed/denied
/// counts of newly written records to each workload grain. Stateless: any silo may host it and
/// concurrent batches interleave safely (the store serialises what needs it).
/// </summary>
[Orleans.Concurrency.StatelessWorker(1)]
public sealed class AuditGrain(IAuditStore store) : Grain, IAuditGrain
{
    public async ValueTask AppendAsync(IReadOnlyList<AuditRecord> records)
    {
        IReadOnlyList<AuditRecord> fresh;
        try
        {
            fresh = await store.AppendAsync(records);
        }
        catch (StackExchange.Redis.RedisException ex)
        {
            // Store exceptions have no Orleans codec; edges retry on OrleansException, their records wait on disk.
            throw new OrleansException("the audit store is unavailable: " + ex.Message);
        }
        // A workload's counters count its calls; a tool-lock drift event is the fabric's own record, nobody's call.
        var counts = fresh.Where(r => r.Kind != "tool-drift").GroupBy(r => r.Workload, StringComparer.Ordinal)
            .Select(g => GrainFactory.Workload(g.Key).RecordAsync(g.LongCount(r => r.Allowed), g.LongCount(r => !r.Allowed)).AsTask());
        await Task.WhenAll(counts);
    }

    public async ValueTask<AuditPage> QueryAsync(AuditQuery query)
    {
        try
        {
            return await store.QueryAsync(query);
        }
        catch (StackExchange.Redis.RedisException ex)
        {
            throw new OrleansException("the audit store is unavailable: " + ex.Message);
        }
    }
}
