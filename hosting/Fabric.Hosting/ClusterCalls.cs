using Microsoft.Extensions.Logging;
using Orleans.Runtime.Messaging;

namespace Fabric.Hosting;

/// <summary>
/// Retries grain calls the cluster rejected while it reshapes itself, within a bounded time budget,
/// then lets the last failure through so the caller fails closed.
/// <para>
/// Why: after a silo dies, calls routed to it fail fast with <see cref="OrleansMessageRejectionException"/>
/// or <see cref="SiloUnavailableException"/> until membership declares it dead (~1 s with the tuned
/// settings, see <c>Fabric:Cluster:Membership</c>); then its grains reactivate elsewhere and the same
/// call succeeds. Timeouts are not retried: a call that timed out may still be running, and the
/// request's latency budget is already spent.
/// </para>
/// Retried calls may run twice (a silo can die after running a call, before answering): use this for
/// reads and idempotent writes only.
/// </summary>
public sealed partial class ClusterCalls(TimeSpan budget, TimeProvider time, ILogger<ClusterCalls> logger)
{
    private static readonly TimeSpan FirstDelay = TimeSpan.FromMilliseconds(50);
    private static readonly TimeSpan MaxDelay = TimeSpan.FromMilliseconds(500);

    public TimeSpan Budget => budget;

    public ValueTask<T> RetryAsync<T>(Func<ValueTask<T>> call, CancellationToken cancellationToken = default) =>
        RetryAsync(call, budget, time, logger, cancellationToken);

    public ValueTask<T> RetryAsync<T>(Func<Task<T>> call, CancellationToken cancellationToken = default) =>
        RetryAsync(() => new ValueTask<T>(call()), budget, time, logger, cancellationToken);

    public async ValueTask RetryAsync(Func<ValueTask> call, CancellationToken cancellationToken = default) =>
        await RetryAsync(async () =>
        {
            await call();
            return true;
        }, budget, time, logger, cancellationToken);

    /// <summary>
    /// True for any failure of the cluster to answer a grain call (rejected, unreachable, timed out): what
    /// callers fail closed on, once <see cref="RetryAsync{T}(Func{ValueTask{T}}, CancellationToken)"/> has given up.
    /// </summary>
    public static bool IsClusterFault(Exception exception) => exception is OrleansException or TimeoutException;

    /// <summary>True for failures that mean "not delivered to a live activation, try again shortly".</summary>
    public static bool IsTransient(Exception exception) =>
        exception is OrleansMessageRejectionException or SiloUnavailableException or ConnectionFailedException;

    /// <summary>
    /// Runs <paramref name="call"/>; on a transient rejection waits (50 ms, doubling to 500 ms) and runs
    /// it again while the next attempt still starts within <paramref name="budget"/> of the first.
    /// </summary>
    public static async ValueTask<T> RetryAsync<T>(
        Func<ValueTask<T>> call,
        TimeSpan budget,
        TimeProvider time,
        ILogger? logger = null,
        CancellationToken cancellationToken = default)
    {
        var started = time.GetTimestamp();
        var delay = FirstDelay;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await call();
            }
            catch (Exception ex) when (IsTransient(ex) && !cancellationToken.IsCancellationRequested)
            {
                var elapsed = time.GetElapsedTime(started);
                if (elapsed + delay > budget)
                {
                    if (logger is not null)
                    {
                        LogGaveUp(logger, attempt, elapsed.TotalMilliseconds, ex.GetType().Name, ex.Message);
                    }
                    throw;
                }
                if (logger is not null)
                {
                    LogRetrying(logger, attempt, delay.TotalMilliseconds, ex.GetType().Name, ex.Message);
                }
            }
            await Task.Delay(delay, time, cancellationToken);
            delay = delay * 2 < MaxDelay ? delay * 2 : MaxDelay;
        }
    }

    [LoggerMessage(EventId = 2601, Level = LogLevel.Debug, Message = "Grain call attempt {Attempt} rejected ({Exception}: {Error}); retrying in {DelayMs} ms")]
    private static partial void LogRetrying(ILogger logger, int attempt, double delayMs, string exception, string error);

    [LoggerMessage(EventId = 2602, Level = LogLevel.Warning, Message = "Grain call rejected {Attempt} times over {ElapsedMs:F0} ms ({Exception}: {Error}); failing closed")]
    private static partial void LogGaveUp(ILogger logger, int attempt, double elapsedMs, string exception, string error);
}
