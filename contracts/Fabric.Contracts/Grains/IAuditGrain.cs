using Fabric.Contracts.Audit;

namespace Fabric.Contracts.Grains;

/// <summary>The bounded, queryable audit log (key "default").</summary>
[Alias("fabric.IAuditGrain")]
public interface IAuditGrain : IGrainWithStringKey
{
    [Alias("Append")]
    ValueTask AppendAsync(IReadOnlyList<AuditRecord> records);

    [Alias("Query")]
    ValueTask<IReadOnlyList<AuditRecord>> QueryAsync(AuditQuery query);
}
