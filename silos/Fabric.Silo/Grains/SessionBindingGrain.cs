using Fabric.Contracts.Identity;

namespace Fabric.Silo.Grains;

[GenerateSerializer, Alias("fabric.session-binding-state")]
public sealed class SessionBindingState
{
    [Id(0)] public SpiffeId? Owner { get; set; }
    [Id(1)] public DateTimeOffset BoundAt { get; set; }
}

/// <summary>
/// Binds an upstream-minted Mcp-Session-Id (key "server/sessionId") to the workload it was minted
/// for. The first bind wins; any other workload presenting the id is refused by the edge.
/// </summary>
public sealed class SessionBindingGrain(
    [PersistentState("session", GrainStorage.Name)] IPersistentState<SessionBindingState> state,
    TimeProvider time) : Grain, ISessionBindingGrain
{
    public async ValueTask<bool> BindAsync(SpiffeId workload)
    {
        if (state.State.Owner is { } owner)
        {
            return owner.Equals(workload);
        }
        state.State.Owner = workload;
        state.State.BoundAt = time.GetUtcNow();
        await state.WriteStateAsync();
        return true;
    }

    public ValueTask<SpiffeId?> GetOwnerAsync() => ValueTask.FromResult(state.State.Owner);

    public async ValueTask ForgetAsync()
    {
        await state.ClearStateAsync();
        DeactivateOnIdle();
    }
}
