using System.Reflection;
using Fabric.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Orleans.Runtime;

namespace Fabric.Silo.Tests.Cluster;

/// <summary>The bounded retry (edges and the management API) of grain calls rejected while a dead silo is being declared.</summary>
public sealed class ClusterCallsTests
{
    private static ClusterCalls Calls(TimeSpan budget) => new(budget, TimeProvider.System, NullLogger<ClusterCalls>.Instance);

    // Some Orleans exceptions keep their message constructor non-public: build them as the runtime does.
    private static Exception Create(Type type, string message) =>
        (Exception)Activator.CreateInstance(type, BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance, null, [message], null)!;

    [Theory]
    [InlineData(typeof(OrleansMessageRejectionException))]
    [InlineData(typeof(SiloUnavailableException))]
    public async Task A_rejected_call_is_retried_until_it_succeeds(Type rejection)
    {
        var attempts = 0;

        var result = await Calls(TimeSpan.FromSeconds(5)).RetryAsync(() =>
        {
            attempts++;
            return attempts < 3 ? throw Create(rejection, "silo is dead") : new ValueTask<int>(42);
        });

        Assert.Equal(42, result);
        Assert.Equal(3, attempts);
    }

    [Fact]
    public async Task Past_the_budget_the_last_rejection_surfaces_so_the_caller_fails_closed()
    {
        var attempts = 0;
        var started = System.Diagnostics.Stopwatch.StartNew();

        var error = await Assert.ThrowsAsync<SiloUnavailableException>(async () =>
            await Calls(TimeSpan.FromMilliseconds(300)).RetryAsync((Func<ValueTask<int>>)(() => throw new SiloUnavailableException("attempt " + ++attempts))));

        Assert.Equal("attempt " + attempts, error.Message);
        Assert.InRange(attempts, 2, 5); // 50 + 100 + 200 ms of backoff fit in 300 ms at most
        Assert.True(started.Elapsed < TimeSpan.FromSeconds(2), started.Elapsed.ToString());
    }

    [Theory]
    [InlineData(typeof(TimeoutException))]
    [InlineData(typeof(OrleansException))]
    [InlineData(typeof(InvalidOperationException))]
    public async Task Other_failures_are_not_retried(Type failure)
    {
        var attempts = 0;

        await Assert.ThrowsAsync(failure, async () => await Calls(TimeSpan.FromSeconds(5)).RetryAsync((Func<ValueTask<int>>)(() =>
        {
            attempts++;
            throw Create(failure, "no");
        })));

        Assert.Equal(1, attempts);
    }

    [Fact]
    public async Task A_zero_budget_means_one_attempt()
    {
        var attempts = 0;

        await Assert.ThrowsAsync<SiloUnavailableException>(async () =>
            await Calls(TimeSpan.Zero).RetryAsync(() => { attempts++; return Task.FromException<int>(new SiloUnavailableException("rejected")); }));

        Assert.Equal(1, attempts);
    }
}
