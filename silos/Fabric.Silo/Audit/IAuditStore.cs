using Fabric.Contracts.Audit;

namespace Fabric.Silo.Audit;

/// <summary>
/// Where the audit log lives: in the audit grain's memory (embedded default) or in a Redis Stream
/// (cluster mode). Appends are idempotent by record id: a batch an edge retries after a lost
/// acknowledgement, or replays from its spool after a crash, is written once.
/// </summary>
public interface IAuditStore
{
    /// <summary>Appends the records not seen before; returns those it wrote.</summary>
    Task<IReadOnlyList<AuditRecord>> AppendAsync(IReadOnlyList<AuditRecord> records);

    /// <summary>Newest first, filtered, at most <c>query.Limit</c>; <c>query.Cursor</c> continues a previous page.</summary>
    Task<AuditPage> QueryAsync(AuditQuery query);
}
