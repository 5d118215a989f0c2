using System.Threading.Channels;
using Fabric.Contracts.Audit;
using Fabric.Edge.Hosting;
using Microsoft.Extensions.Options;

namespace Fabric.Edge.Audit;

/// <summary>
/// Ships audit records to the cluster's audit grain in batches, off the hot path. The request path
/// only enqueues (no await, no lock). A batch that fails is retried with backoff (record ids make
/// the retry idempotent); while the cluster is away records wait in memory up to
/// <see cref="EdgeOptions.AuditBufferCapacity"/>, beyond which the oldest are dropped and counted.
/// </summary>
public sealed partial class AuditShipper : BackgroundService
{
    private readonly Channel<AuditRecord> _queue;
    private readonly IClusterClient _cluster;
    private readonly EdgeOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<AuditShipper> _logger;
    private long _enqueued;
    private long _shipped;
    private long _dropped;
    private readonly Lock _waitersLock = new();
    private readonly List<(long Target, TaskCompletionSource Done)> _waiters = [];
    private readonly Lock _openLock = new();
    private int _open;
    private TaskCompletionSource _idle = Completed();

    private static TaskCompletionSource Completed()
    {
        var done = new TaskCompletionSource();
        done.SetResult();
        return done;
    }

    public AuditShipper(IClusterClient cluster, IOptions<EdgeOptions> options, TimeProvider time, ILogger<AuditShipper> logger)
    {
        _cluster = cluster;
        _options = options.Value;
        _time = time;
        _logger = logger;
        _queue = Channel.CreateBounded<AuditRecord>(new BoundedChannelOptions(_options.AuditBufferCapacity)
        {
            FullMode = BoundedChannelFullMode.DropOldest,
            SingleReader = true,
        }, _ => Interlocked.Increment(ref _dropped));
    }

    public long Dropped => Interlocked.Read(ref _dropped);

    public void Enqueue(AuditRecord record)
    {
        Interlocked.Increment(ref _enqueued);
        _queue.Writer.TryWrite(record);
    }

    /// <summary>A message is being decided; its record follows through <see cref="Complete"/>.</summary>
    public void Begin()
    {
        lock (_openLock)
        {
            if (_open++ == 0)
            {
                _idle = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }
        }
    }

    /// <summary>The message begun with <see cref="Begin"/> is finished; <paramref name="record"/> is its audit record, if it was decided.</summary>
    public void Complete(AuditRecord? record)
    {
        if (record is not null)
        {
            Enqueue(record);
        }
        lock (_openLock)
        {
            if (--_open == 0)
            {
                _idle.TrySetResult();
            }
        }
    }

    /// <summary>
    /// Completes when every message in flight has finished and every record produced so far has
    /// been shipped (or dropped). A client can see its response a moment before the edge writes the
    /// record, so waiting for in-flight messages is what makes "flush" mean "my calls are audited".
    /// </summary>
    public async Task FlushAsync(CancellationToken cancellationToken = default)
    {
        Task idle;
        lock (_openLock)
        {
            idle = _idle.Task;
        }
        await idle.WaitAsync(cancellationToken);
        await ShippedAsync(cancellationToken);
    }

    private Task ShippedAsync(CancellationToken cancellationToken)
    {
        var target = Interlocked.Read(ref _enqueued);
        lock (_waitersLock)
        {
            if (Interlocked.Read(ref _shipped) + Interlocked.Read(ref _dropped) >= target)
            {
                return Task.CompletedTask;
            }
            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((target, done));
            return done.Task.WaitAsync(cancellationToken);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var batch = new List<AuditRecord>(_options.AuditBatchSize);
        var reader = _queue.Reader;
        try
        {
            while (await reader.WaitToReadAsync(stoppingToken))
            {
                while (batch.Count < _options.AuditBatchSize && reader.TryRead(out var record))
                {
                    batch.Add(record);
                }
                await ShipAsync(batch, stoppingToken);
                batch.Clear();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Last chance: ship what is queued, bounded by the host's shutdown timeout.
            while (reader.TryRead(out var record))
            {
                batch.Add(record);
            }
            if (batch.Count > 0)
            {
                try
                {
                    await _cluster.Audit().AppendAsync(batch).AsTask().WaitAsync(TimeSpan.FromSeconds(2), CancellationToken.None);
                }
                catch (Exception ex) when (ex is OrleansException or TimeoutException)
                {
                    LogLostAtShutdown(_logger, batch.Count);
                }
            }
        }
    }

    private async Task ShipAsync(List<AuditRecord> batch, CancellationToken stoppingToken)
    {
        var delay = TimeSpan.FromMilliseconds(100);
        while (true)
        {
            try
            {
                await _cluster.Audit().AppendAsync(batch.ToArray());
                Interlocked.Add(ref _shipped, batch.Count);
                ReleaseWaiters();
                return;
            }
            catch (Exception ex) when (ex is OrleansException or TimeoutException)
            {
                LogShipFailed(_logger, batch.Count, ex.Message);
                await Task.Delay(delay, _time, stoppingToken);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(5).Ticks));
            }
        }
    }

    private void ReleaseWaiters()
    {
        var done = Interlocked.Read(ref _shipped) + Interlocked.Read(ref _dropped);
        lock (_waitersLock)
        {
            for (var i = _waiters.Count - 1; i >= 0; i--)
            {
                if (_waiters[i].Target <= done)
                {
                    _waiters[i].Done.TrySetResult();
                    _waiters.RemoveAt(i);
                }
            }
        }
    }

    [LoggerMessage(EventId = 2201, Level = LogLevel.Warning, Message = "Shipping {Count} audit records failed, retrying: {Error}")]
    private static partial void LogShipFailed(ILogger logger, int count, string error);

    [LoggerMessage(EventId = 2202, Level = LogLevel.Error, Message = "{Count} audit records could not be shipped before shutdown")]
    private static partial void LogLostAtShutdown(ILogger logger, int count);
}
