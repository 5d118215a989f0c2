using System.Collections.Concurrent;
using Fabric.Contracts.Grains;
using Fabric.Contracts.Policy;
using Fabric.Hosting;

namespace Fabric.Edge.Policy;

/// <summary>How charging a call to its budgets ended.</summary>
internal enum ChargeOutcome
{
    /// <summary>Every budget the call is charged to had room (or none applies).</summary>
    Admitted,
    /// <summary>A budget is spent for its window: <c>rate-limited</c>, with the time until the window ends.</summary>
    RateLimited,
    /// <summary>The cluster could not hand out a slice: fail closed (<c>policy-unavailable</c>).</summary>
    Unavailable,
}

/// <summary>
/// The budgets' part of step 6 (issue 12 §4). A budget is counted by its <see cref="IBudgetGrain"/>; this edge takes
/// slices of it (a sixteenth of the limit, 1 to 256 calls) and admits calls from the slice in memory, so the hot path
/// waits on the grain only when its slice is gone. When half a slice is left, the next one is taken in the background.
/// <list type="bullet">
/// <item>A slice belongs to its window: once the window ends, what is left of it is dropped, never carried over. As
/// the grain never hands out more than the limit per window, all edges together never admit more either.</item>
/// <item>A budget the grain reports spent is refused locally until its window ends (<c>retryAfterMs</c>), without
/// asking again.</item>
/// <item>A call charged to several budgets (several limited allow rules apply) is admitted only if all have room; what
/// it took from the others is given back.</item>
/// </list>
/// </summary>
internal sealed partial class Budgets(IClusterClient cluster, ClusterCalls calls, TimeProvider time, ILogger<Budgets> logger)
{
    /// <summary>Above this many budgets, those whose window has ended are swept on the next miss.</summary>
    internal const int SweepAbove = 10_000;

    private readonly ConcurrentDictionary<string, Budget> _budgets = new(StringComparer.Ordinal);

    /// <summary>Budgets this edge holds a slice of (tests, telemetry).</summary>
    internal int Count => _budgets.Count;

    /// <summary>
    /// Charges one call to each of <paramref name="charges"/>. <paramref name="retryAfter"/> is set for
    /// <see cref="ChargeOutcome.RateLimited"/>: until the spent budget's window ends.
    /// </summary>
    public async ValueTask<(ChargeOutcome Outcome, TimeSpan RetryAfter)> ChargeAsync(IReadOnlyList<BudgetCharge> charges, CancellationToken cancellationToken)
    {
        for (var i = 0; i < charges.Count; i++)
        {
            var (outcome, retryAfter) = await TakeAsync(charges[i], cancellationToken);
            if (outcome != ChargeOutcome.Admitted)
            {
                for (var j = 0; j < i; j++)
                {
                    BudgetOf(charges[j]).GiveBack(time.GetUtcNow());
                }
                return (outcome, retryAfter);
            }
        }
        return (ChargeOutcome.Admitted, TimeSpan.Zero);
    }

    private async ValueTask<(ChargeOutcome, TimeSpan)> TakeAsync(BudgetCharge charge, CancellationToken cancellationToken)
    {
        var budget = BudgetOf(charge);
        while (true)
        {
            var now = time.GetUtcNow();
            Task refill;
            lock (budget)
            {
                budget.Roll(now);
                if (budget.Tokens > 0)
                {
                    budget.Tokens--;
                    if (budget.Tokens <= budget.Slice / 2 && !budget.Spent && budget.Refill is null)
                    {
                        budget.Refill = RefillAsync(budget);
                    }
                    return (ChargeOutcome.Admitted, TimeSpan.Zero);
                }
                if (budget.Spent)
                {
                    return (ChargeOutcome.RateLimited, budget.WindowEnd - now);
                }
                refill = budget.Refill ??= RefillAsync(budget);
            }
            try
            {
                await refill.WaitAsync(cancellationToken);
            }
            catch (Exception ex) when (ClusterCalls.IsClusterFault(ex) || (ex is OperationCanceledException && cancellationToken.IsCancellationRequested))
            {
                // The cluster did not answer (fail closed), or the caller is gone.
                return (ChargeOutcome.Unavailable, TimeSpan.Zero);
            }
        }
    }

    private Budget BudgetOf(BudgetCharge charge)
    {
        if (_budgets.TryGetValue(charge.Key, out var budget))
        {
            return budget;
        }
        if (_budgets.Count > SweepAbove)
        {
            Sweep(time.GetUtcNow());
        }
        return _budgets.GetOrAdd(charge.Key, key => new Budget(key, charge.Limit));
    }

    private void Sweep(DateTimeOffset now)
    {
        foreach (var (key, budget) in _budgets)
        {
            lock (budget)
            {
                if (budget.WindowEnd <= now && budget.Refill is null)
                {
                    _budgets.TryRemove(key, out _);
                }
            }
        }
    }

    /// <summary>Takes the next slice from the grain; faults with the cluster's fault (the waiters fail closed).</summary>
    private async Task RefillAsync(Budget budget)
    {
        // Off the caller's lock: the grain call starts after the lock is released.
        await Task.Yield();
        try
        {
            var slice = await calls.RetryAsync(() => cluster.Budget(budget.Key).TakeAsync(budget.Limit, budget.Slice));
            lock (budget)
            {
                budget.Add(slice, time.GetUtcNow());
            }
        }
        catch (Exception ex) when (ClusterCalls.IsClusterFault(ex))
        {
            LogSliceFailed(logger, ex.Message);
            throw;
        }
        finally
        {
            lock (budget)
            {
                budget.Refill = null;
            }
        }
    }

    /// <summary>This edge's share of one budget. Guarded by its own monitor.</summary>
    private sealed class Budget(string key, CallLimit limit)
    {
        public string Key { get; } = key;
        public CallLimit Limit { get; } = limit;
        public int Slice { get; } = Math.Clamp(limit.Calls / 16, 1, 256);

        /// <summary>The end of the window <see cref="Tokens"/> belong to.</summary>
        public DateTimeOffset WindowEnd { get; private set; }
        public int Tokens { get; set; }
        /// <summary>The grain has nothing left in the window ending at <see cref="WindowEnd"/>.</summary>
        public bool Spent { get; private set; }
        public Task? Refill { get; set; }

        /// <summary>A window that has ended takes its tokens with it.</summary>
        public void Roll(DateTimeOffset now)
        {
            if (now >= WindowEnd)
            {
                Tokens = 0;
                Spent = false;
            }
        }

        public void Add(BudgetSlice slice, DateTimeOffset now)
        {
            if (slice.WindowEnd <= now || slice.WindowEnd < WindowEnd)
            {
                return; // a slice of a window already over: unusable
            }
            if (slice.WindowEnd > WindowEnd)
            {
                WindowEnd = slice.WindowEnd;
                Tokens = 0;
            }
            Tokens += slice.Granted;
            Spent = slice.Spent;
        }

        public void GiveBack(DateTimeOffset now)
        {
            lock (this)
            {
                if (now < WindowEnd)
                {
                    Tokens++;
                }
            }
        }
    }

    [LoggerMessage(EventId = 2330, Level = LogLevel.Warning, Message = "A budget slice could not be taken from the cluster: {Error}")]
    private static partial void LogSliceFailed(ILogger logger, string error);
}
