using System.Threading.Channels;
using Fabric.Contracts.Audit;
using Fabric.Edge.Hosting;
using Microsoft.Extensions.Options;

namespace Fabric.Edge.Audit;

/// <summary>
/// Ships audit records to the cluster in batches, off the hot path, without losing them:
/// <code>
///   request path ─Enqueue─► memory channel ─(group commit, fsync)─► AuditSpool on disk ─batch (≤ linger)─► IAuditSink
///                                                                     ▲ checkpoint after each ack
/// </code>
/// The request path only enqueues (no await, no lock). Records are on disk before they are shipped;
/// a batch that fails is retried with backoff (record ids make a retry idempotent at the grain);
/// an edge that restarts, or a new edge given the same spool directory, ships what was left.
/// </summary>
public sealed partial class AuditShipper : BackgroundService
{
    private readonly Channel<AuditRecord> _queue;
    private readonly IAuditSink _sink;
    private readonly AuditSpool _spool;
    // Every spool call after construction runs here: fsyncs park this thread, not the request threads.
    private readonly SpoolThread _disk = new("fabric-audit-spool");
    private readonly EdgeOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<AuditShipper> _logger;
    private readonly long _recovered;
    private long _enqueued;
    private long _shipped;
    private long _dropped;
    private readonly Lock _waitersLock = new();
    private readonly List<(long Target, TaskCompletionSource Done)> _waiters = [];
    private readonly Lock _openLock = new();
    private int _open;
    private TaskCompletionSource _idle = Completed();

    private readonly AuditChainer _chain;

    /// <param name="signer">The edge's SVID for the chain's signed checkpoints; null (or none yet) leaves records linked but unsigned.</param>
    public AuditShipper(IAuditSink sink, IOptions<EdgeOptions> options, TimeProvider time, ILogger<AuditShipper> logger,
        Func<System.Security.Cryptography.X509Certificates.X509Certificate2?>? signer = null)
    {
        _sink = sink;
        _options = options.Value;
        _time = time;
        _logger = logger;
        _spool = new AuditSpool(_options.ResolveSpoolDirectory(), _options.AuditSpoolMaxBytes);
        _chain = new AuditChainer(_spool.LastRecord(), signer ?? (() => null), time);
        // Records an earlier process left on disk go first; they are not this process's to wait for.
        _recovered = _spool.CountPending();
        if (_recovered > 0)
        {
            LogRecovered(_logger, _recovered);
        }
        _queue = Channel.CreateBounded<AuditRecord>(new BoundedChannelOptions(_options.AuditBufferCapacity)
        {
            FullMode = BoundedChannelFullMode.DropOldest,
            SingleReader = true,
        }, _ => Interlocked.Increment(ref _dropped));
    }

    /// <summary>Records taken (or found on disk at start) and neither shipped nor lost yet: what the cluster has not seen.</summary>
    public long Backlog => Math.Max(0, _recovered + Interlocked.Read(ref _enqueued) - Interlocked.Read(ref _shipped) - Dropped);

    /// <summary>Records lost to bounded buffers (memory channel overflow, spool over its size cap).</summary>
    public long Dropped => Interlocked.Read(ref _dropped) + _spool.Dropped;

    /// <summary>Records taken since start (each becomes one spool line).</summary>
    internal long Enqueued => Interlocked.Read(ref _enqueued);

    /// <summary>Spool writes (fsyncs) since start: how well records are grouped.</summary>
    internal long SpoolWrites => _spool.Writes;

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
    /// been acknowledged by the cluster (or dropped). A client can see its response a moment before
    /// the edge writes the record, so waiting for in-flight messages is what makes "flush" mean
    /// "my calls are audited".
    /// </summary>
    public async Task FlushAsync(CancellationToken cancellationToken = default)
    {
        Task idle;
        lock (_openLock)
        {
            idle = _idle.Task;
        }
        await idle.WaitAsync(cancellationToken);
        var target = Interlocked.Read(ref _enqueued);
        Task shipped;
        lock (_waitersLock)
        {
            if (OwnDone() >= target)
            {
                return;
            }
            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((target, done));
            shipped = done.Task;
        }
        await shipped.WaitAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var reader = _queue.Reader;
        var delay = TimeSpan.FromMilliseconds(100);
        var lingered = false;
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                await SpoolQueuedAsync(reader);
                var (batch, next) = await _disk.RunAsync(() => _spool.Read(_options.AuditBatchSize));
                if (batch.Count == 0)
                {
                    await reader.WaitToReadAsync(stoppingToken);
                    continue;
                }
                if (batch.Count < _options.AuditBatchSize && !lingered && _options.AuditShipLinger > TimeSpan.Zero)
                {
                    // The records are on disk already; let a partial batch fill a moment before paying the
                    // per-batch costs (see EdgeOptions.AuditShipLinger).
                    lingered = true;
                    await Task.Delay(_options.AuditShipLinger, _time, stoppingToken);
                    continue;
                }
                lingered = false;
                try
                {
                    await SpoolWhileAsync(_sink.AppendAsync(batch), reader, stoppingToken);
                    await _disk.RunAsync(() => _spool.Commit(next));
                    Interlocked.Add(ref _shipped, batch.Count);
                    ReleaseWaiters();
                    delay = TimeSpan.FromMilliseconds(100);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // Whatever the cluster answers (unreachable, a store error it could not even
                    // serialise), the records stay on disk and the loop keeps going: the audit path
                    // must never take the edge down.
                    LogShipFailed(_logger, batch.Count, ex.GetType().Name + ": " + ex.Message);
                    // Keep moving new records to disk while the cluster is away.
                    await SpoolWhileAsync(Task.Delay(delay, _time, stoppingToken), reader, stoppingToken);
                    delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(5).Ticks));
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Whatever is still queued in memory goes to disk; the next edge process ships it.
            await SpoolQueuedAsync(reader);
        }
    }

    public override void Dispose()
    {
        _disk.Dispose();
        _spool.Dispose();
        base.Dispose();
    }

    /// <summary>
    /// Awaits <paramref name="pending"/> (a batch being shipped, a backoff) while moving every record that
    /// arrives meanwhile to disk: with the cluster away a ship can hang for seconds, and a record still
    /// in memory dies with the process (SIGKILL, OOM kill, power loss).
    /// </summary>
    private async Task SpoolWhileAsync(Task pending, ChannelReader<AuditRecord> reader, CancellationToken stoppingToken)
    {
        while (!pending.IsCompleted)
        {
            var arrived = reader.WaitToReadAsync(stoppingToken).AsTask();
            // A completed channel (shutdown) has nothing more to spool: just wait for the pending work.
            if (await Task.WhenAny(pending, arrived) == pending || !await arrived)
            {
                break;
            }
            if (_options.AuditSpoolLinger > TimeSpan.Zero)
            {
                // Group commit: the records arriving in the next moment share this write and its fsync.
                await Task.Delay(_options.AuditSpoolLinger, _time, stoppingToken);
            }
            await SpoolQueuedAsync(reader);
        }
        await pending;
    }

    private async Task SpoolQueuedAsync(ChannelReader<AuditRecord> reader)
    {
        var batch = new List<AuditRecord>();
        while (reader.TryRead(out var record))
        {
            batch.Add(record);
        }
        if (batch.Count > 0)
        {
            await _disk.RunAsync(() =>
            {
                // Linked into this edge's chain as they reach the disk, in order; each serialized once, for hash and line.
                _spool.Append(batch, _chain.Link);
            });
        }
    }

    /// <summary>This process's records shipped or dropped (recovered records ship first, FIFO).</summary>
    private long OwnDone() => Math.Max(0, Interlocked.Read(ref _shipped) - _recovered) + Interlocked.Read(ref _dropped) + _spool.Dropped;

    private void ReleaseWaiters()
    {
        var done = OwnDone();
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

    private static TaskCompletionSource Completed()
    {
        var done = new TaskCompletionSource();
        done.SetResult();
        return done;
    }

    [LoggerMessage(EventId = 2201, Level = LogLevel.Warning, Message = "Shipping {Count} audit records failed, retrying: {Error}")]
    private static partial void LogShipFailed(ILogger logger, int count, string error);

    [LoggerMessage(EventId = 2202, Level = LogLevel.Information, Message = "{Count} audit records left by an earlier edge process will be shipped first")]
    private static partial void LogRecovered(ILogger logger, long count);
}
