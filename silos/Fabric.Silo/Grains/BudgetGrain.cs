using Fabric.Contracts.Policy;

namespace Fabric.Silo.Grains;

[GenerateSerializer, Alias("fabric.budget-grain-state")]
public sealed class BudgetGrainState
{
    [Id(0)] public DateTimeOffset WindowStart { get; set; }
    [Id(1)] public int Taken { get; set; }
}

/// <summary>
/// One budget (issue 12 §4): the calls handed out in the current fixed window. Persisted on every slice (a slice is
/// many calls, so this is far from a write per call), so neither an idle deactivation nor a silo failover hands out a
/// window twice. The grain is the only place a budget is counted; it never hands out more than the limit per window.
/// </summary>
public sealed class BudgetGrain(
    [PersistentState("budget", GrainStorage.Name)] IPersistentState<BudgetGrainState> state,
    TimeProvider time) : Grain, IBudgetGrain
{
    public async ValueTask<BudgetSlice> TakeAsync(CallLimit limit, int want)
    {
        ArgumentNullException.ThrowIfNull(limit);
        var window = limit.Window;
        if (window <= TimeSpan.Zero || limit.Calls < 1 || want < 1)
        {
            // Not a limit the validator lets through: nothing to hand out (fail closed).
            return new BudgetSlice(0, time.GetUtcNow() + CallLimit.MinWindow, Spent: true);
        }
        var start = CallLimit.WindowStart(time.GetUtcNow(), window);
        if (state.State.WindowStart != start)
        {
            state.State.WindowStart = start;
            state.State.Taken = 0;
        }
        var granted = Math.Min(want, Math.Max(0, limit.Calls - state.State.Taken));
        if (granted > 0)
        {
            state.State.Taken += granted;
            await state.WriteStateAsync();
        }
        return new BudgetSlice(granted, start + window, Spent: state.State.Taken >= limit.Calls);
    }
}
