using Fabric.Contracts.Grains;
using Fabric.Contracts.Policy;
using Fabric.Silo.Tests.Secrets;

namespace Fabric.Silo.Tests.Grains;

/// <summary>
/// Issue 12 §4: a budget grain never hands out more than its limit in a window, whoever asks and however the asks
/// are cut; a new window starts from nothing; the count survives the grain's deactivation. Runs on the lease
/// cluster's fake clock (windows are driven by the test, not by waiting).
/// </summary>
[Collection(LeaseClusterCollection.Name)]
public sealed class BudgetGrainTests(LeaseClusterFixture fixture)
{
    private static readonly CallLimit TenPerMinute = new(10, "1m");

    private IBudgetGrain NewBudget() => fixture.Client.Budget("test" + Guid.NewGuid().ToString("N"));

    [Fact]
    public async Task A_window_hands_out_its_limit_and_not_one_call_more()
    {
        var budget = NewBudget();
        var end = CallLimit.WindowStart(fixture.Time.GetUtcNow(), TimeSpan.FromMinutes(1)) + TimeSpan.FromMinutes(1);

        var slices = new List<BudgetSlice>();
        for (var i = 0; i < 4; i++)
        {
            slices.Add(await budget.TakeAsync(TenPerMinute, 4));
        }

        Assert.Equal([4, 4, 2, 0], slices.Select(s => s.Granted));
        Assert.Equal([false, false, true, true], slices.Select(s => s.Spent));
        Assert.All(slices, s => Assert.Equal(end, s.WindowEnd));
    }

    [Fact]
    public async Task Concurrent_asks_never_share_out_more_than_the_limit()
    {
        var budget = NewBudget();
        var limit = new CallLimit(100, "1h");
        var slices = await Task.WhenAll(Enumerable.Range(0, 64).Select(_ => budget.TakeAsync(limit, 3).AsTask()));
        Assert.Equal(100, slices.Sum(s => s.Granted));
    }

    [Fact]
    public async Task The_next_window_starts_from_nothing_and_the_count_survives_deactivation()
    {
        var budget = NewBudget();
        Assert.Equal(6, (await budget.TakeAsync(TenPerMinute, 6)).Granted);

        await fixture.Cluster.DeactivateAsync(budget);
        var after = await budget.TakeAsync(TenPerMinute, 6);
        Assert.Equal(4, after.Granted); // the same window, as persisted
        Assert.True(after.Spent);

        fixture.Time.Advance(TimeSpan.FromMinutes(1));
        var next = await budget.TakeAsync(TenPerMinute, 6);
        Assert.Equal(6, next.Granted);
        Assert.Equal(after.WindowEnd + TimeSpan.FromMinutes(1), next.WindowEnd);
    }

    [Fact]
    public async Task A_limit_no_validator_admits_hands_out_nothing()
    {
        var budget = NewBudget();
        Assert.Equal(0, (await budget.TakeAsync(new CallLimit(10, "1w"), 5)).Granted);
        Assert.Equal(0, (await budget.TakeAsync(new CallLimit(0, "1m"), 5)).Granted);
        Assert.Equal(0, (await budget.TakeAsync(TenPerMinute, 0)).Granted);
    }
}
