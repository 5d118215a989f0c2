using Fabric.Contracts.Audit;

namespace Fabric.Edge.Audit;

/// <summary>Where the edge's audit records go: the cluster's audit grain, or a test's double.</summary>
public interface IAuditSink
{
    Task AppendAsync(IReadOnlyList<AuditRecord> records);
}

/// <summary>The audit grain, reached through the edge's cluster client.</summary>
public sealed class ClusterAuditSink(IClusterClient cluster) : IAuditSink
{
    public Task AppendAsync(IReadOnlyList<AuditRecord> records) => cluster.Audit().AppendAsync(records).AsTask();
}
