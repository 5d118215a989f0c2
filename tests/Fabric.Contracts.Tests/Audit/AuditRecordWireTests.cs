using Fabric.Contracts.Audit;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;

namespace Fabric.Contracts.Tests.Audit;

/// <summary>
/// Audit records cross the Orleans link in batches (edge → audit grain). They are not reference-tracked (each is written
/// as a value: no per-message table of every record on either side), so a batch must still come back whole and in
/// order, a record that appears twice included.
/// </summary>
public sealed class AuditRecordWireTests
{
    private static readonly Serializer Wire = new ServiceCollection()
        .AddSerializer(builder => builder.AddAssembly(typeof(AuditRecord).Assembly))
        .BuildServiceProvider()
        .GetRequiredService<Serializer>();

    [Fact]
    public void A_batch_comes_back_whole_and_in_order_with_a_repeated_record_as_an_equal_copy()
    {
        var first = AuditChain.Link(Record(1), 1, null);
        var second = AuditChain.Link(Record(2) with { ApprovalId = "ap-1", ParentRecordId = Guid.NewGuid() }, 2, first.Hash);
        IReadOnlyList<AuditRecord> batch = [first, second, first];

        var back = Wire.Deserialize<IReadOnlyList<AuditRecord>>(Wire.SerializeToArray(batch));

        Assert.NotNull(back);
        Assert.Equal(batch, back);
        Assert.NotSame(back[0], back[2]);
        Assert.Equal(AuditChain.HashOf(back[1]), back[1].Hash);
    }

    private static AuditRecord Record(int n) => new()
    {
        Id = Guid.NewGuid(), Time = DateTimeOffset.UnixEpoch.AddSeconds(n), Edge = "e", Workload = "spiffe://fabric.local/agents/a",
        Server = "s", Method = "tools/call", Name = "tool-" + n, Allowed = true, Reason = "allowed",
    };
}
