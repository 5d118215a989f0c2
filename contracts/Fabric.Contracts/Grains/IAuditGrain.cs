using Fabric.Contracts.Audit;

namespace Fabric.Contracts.Grains;

/// <summary>The bounded, queryable audit log (key "default"), in memory or in a Redis Stream.</summary>
[Alias("fabric.IAuditGrain")]
public interface IAuditGrain : IGrainWithStringKey
{
    [Alias("Append")]
    ValueTask AppendAsync(IReadOnlyList<AuditRecord> records);

    [Alias("Query")]
    ValueTask<AuditPage> QueryAsync(AuditQuery query);
}
