using System.Collections.Concurrent;

namespace Fabric.Edge.Audit;

/// <summary>
/// One dedicated thread for the audit spool's blocking file work (writes, fsyncs, renames, reads of an
/// earlier process's segments). An fsync parks its thread for milliseconds; on a thread-pool thread that
/// is a thread the agents' requests were queued behind (measured: the edge's open-loop p99 at
/// 1000 requests/s fell by about half when the pool simply had more threads to spare). Work runs in the
/// order it was queued, one item at a time, so the spool needs no lock of its own.
/// </summary>
internal sealed class SpoolThread : IDisposable
{
    private readonly BlockingCollection<Action> _work = new();
    private readonly Thread _thread;
    private int _disposed;

    public SpoolThread(string name)
    {
        _thread = new Thread(Run) { IsBackground = true, Name = name };
        _thread.Start();
    }

    /// <summary>Runs <paramref name="work"/> on the spool thread; completes (on the thread pool) with its result or exception.</summary>
    public Task<T> RunAsync<T>(Func<T> work)
    {
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        _work.Add(() =>
        {
            try
            {
                done.SetResult(work());
            }
            catch (Exception ex)
            {
                done.SetException(ex);
            }
        });
        return done.Task;
    }

    public Task RunAsync(Action work) => RunAsync(() =>
    {
        work();
        return true;
    });

    private void Run()
    {
        foreach (var work in _work.GetConsumingEnumerable())
        {
            work();
        }
    }

    /// <summary>Runs what was queued, then ends the thread.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }
        _work.CompleteAdding();
        if (Thread.CurrentThread != _thread)
        {
            _thread.Join();
        }
        _work.Dispose();
    }
}
