using Fabric.Edge.Audit;

namespace Fabric.Edge.Tests.Audit;

/// <summary>The spool's own thread: blocking disk work leaves the thread pool, in order, with its failures.</summary>
public sealed class SpoolThreadTests
{
    [Fact]
    public async Task Work_runs_in_queue_order_on_one_thread_that_is_not_a_pool_thread()
    {
        using var spool = new SpoolThread("test-spool");
        var seen = new List<(int Item, int Thread, bool Pool)>();

        var runs = Enumerable.Range(0, 50).Select(i => spool.RunAsync(() =>
        {
            seen.Add((i, Environment.CurrentManagedThreadId, Thread.CurrentThread.IsThreadPoolThread));
            return i;
        })).ToArray();
        var results = await Task.WhenAll(runs);

        Assert.Equal(Enumerable.Range(0, 50), results);
        Assert.Equal(Enumerable.Range(0, 50), seen.Select(s => s.Item));
        Assert.Single(seen.Select(s => s.Thread).Distinct());
        Assert.DoesNotContain(seen, s => s.Pool);
        Assert.NotEqual(Environment.CurrentManagedThreadId, seen[0].Thread);
    }

    [Fact]
    public async Task A_failure_reaches_its_caller_and_the_thread_keeps_serving()
    {
        using var spool = new SpoolThread("test-spool");

        var failed = spool.RunAsync(() => throw new IOException("disk full"));
        var next = spool.RunAsync(() => 42);

        Assert.Equal("disk full", (await Assert.ThrowsAsync<IOException>(() => failed)).Message);
        Assert.Equal(42, await next);
    }

    [Fact]
    public async Task Dispose_runs_what_was_queued_first_and_may_be_called_twice()
    {
        var spool = new SpoolThread("test-spool");
        var release = new ManualResetEventSlim();
        var first = spool.RunAsync(release.Wait);
        var second = spool.RunAsync(() => 7);

        release.Set();
        spool.Dispose();
        spool.Dispose();

        await first;
        Assert.Equal(7, await second);
    }
}
