using Fabric.Contracts.Policy;

namespace Fabric.Contracts.Grains;

/// <summary>
/// One budget (issue 12 §4; key = <see cref="BudgetCharge.Key"/>): how many calls of the current window were handed
/// out. Edges take slices and admit calls from them locally, so the hot path asks this grain once per slice, not per
/// call. The grain never hands out more than the limit in a window, so the edges together never admit more either.
/// </summary>
[Alias("fabric.IBudgetGrain")]
public interface IBudgetGrain : IGrainWithStringKey
{
    /// <summary>Up to <paramref name="want"/> calls of the current window of <paramref name="limit"/>; 0 when it is spent.</summary>
    [Alias("Take")]
    ValueTask<BudgetSlice> TakeAsync(CallLimit limit, int want);
}

/// <summary>Calls granted from the window that ends at <see cref="WindowEnd"/>, and whether the window is now spent.</summary>
[GenerateSerializer, Immutable, Alias("fabric.budget-slice")]
public sealed record BudgetSlice(
    [property: Id(0)] int Granted,
    [property: Id(1)] DateTimeOffset WindowEnd,
    [property: Id(2)] bool Spent);
