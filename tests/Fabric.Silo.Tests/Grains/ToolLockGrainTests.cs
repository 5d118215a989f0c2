using System.Diagnostics.Metrics;
using Fabric.Contracts.Grains;
using Fabric.Contracts.Servers;

namespace Fabric.Silo.Tests.Grains;

/// <summary>Issue 12 §1: drift is a metric as well as an audit event — one count per item newly held, by server and list.</summary>
[Collection(ClusterCollectionDefinition.Name)]
public sealed class ToolLockGrainTests(ClusterFixture fixture)
{
    [Fact]
    public async Task Each_newly_held_item_counts_once_as_drift_and_the_first_sight_counts_none()
    {
        var server = "drift-" + Guid.NewGuid().ToString("N")[..10];
        long drift = 0;
        string? list = null;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Name == "fabric.tool_lock.drift")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            var mine = false;
            foreach (var tag in tags)
            {
                mine |= tag.Key == "server" && (string?)tag.Value == server;
            }
            if (mine)
            {
                Interlocked.Add(ref drift, value);
                foreach (var tag in tags)
                {
                    list = tag.Key == "list" ? (string?)tag.Value : list;
                }
            }
        });
        listener.Start();
        await fixture.Client.Server(server).PutAsync(new Uri("https://tools.example/mcp"), null, null); // trust on first use by default
        var toolLock = fixture.Client.ToolLock(server);

        await toolLock.ObserveAsync(LockedList.Tools, [new LockedItem("echo", "d1", "{}"), new LockedItem("search", "d2", "{}")]);
        Assert.Equal(0, Interlocked.Read(ref drift)); // trust on first use: approved, not drift

        await toolLock.ObserveAsync(LockedList.Tools, [new LockedItem("echo", "d1-changed", "{}"), new LockedItem("search", "d2", "{}"), new LockedItem("exfiltrate", "d3", "{}")]);
        Assert.Equal(2, Interlocked.Read(ref drift));
        Assert.Equal(nameof(LockedList.Tools), list);

        // The same drift seen again is not new drift.
        await toolLock.ObserveAsync(LockedList.Tools, [new LockedItem("echo", "d1-changed", "{}"), new LockedItem("search", "d2", "{}"), new LockedItem("exfiltrate", "d3", "{}")]);
        Assert.Equal(2, Interlocked.Read(ref drift));
    }
}
