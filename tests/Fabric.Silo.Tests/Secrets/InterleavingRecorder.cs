using System.Collections.Concurrent;

namespace Fabric.Silo.Tests.Secrets;

/// <summary>
/// An incoming call filter that records every call reaching an activation while another call of that
/// activation is still running (an interleaving). Non-interleaving calls wait for their turn before the
/// filter sees them, so in a sequential test the only way a change's own grain gets one is a callback
/// from a grain that change is waiting on, which is what the protocol must never do (issue 9 §2).
/// </summary>
public sealed class InterleavingRecorder
{
    private readonly ConcurrentDictionary<GrainId, int> _running = new();
    private readonly ConcurrentQueue<(GrainId Grain, string Method)> _interleaved = new();

    public async Task InvokeAsync(IIncomingGrainCallContext context)
    {
        var grain = context.TargetId;
        if (_running.AddOrUpdate(grain, 1, (_, n) => n + 1) > 1)
        {
            _interleaved.Enqueue((grain, context.InterfaceMethod.Name));
        }
        try
        {
            await context.Invoke();
        }
        finally
        {
            _running.AddOrUpdate(grain, 0, (_, n) => n - 1);
        }
    }

    /// <summary>The methods that were called on <paramref name="grain"/> while it was already in a call.</summary>
    public IReadOnlyList<string> InterleavedOn(IAddressable grain)
    {
        var id = grain.GetGrainId();
        return [.. _interleaved.Where(i => i.Grain == id).Select(i => i.Method)];
    }
}
