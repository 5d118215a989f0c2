namespace Fabric.Silo.Grains;

[GenerateSerializer, Alias("fabric.server-directory-state")]
public sealed class ServerDirectoryState
{
    [Id(0)] public SortedSet<string> Names { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>The names of all registered servers, so the API can list them without a scan.</summary>
public sealed class ServerDirectoryGrain(
    [PersistentState("servers", GrainStorage.Name)] IPersistentState<ServerDirectoryState> state) : Grain, IServerDirectoryGrain
{
    public ValueTask<IReadOnlyList<string>> ListAsync() =>
        ValueTask.FromResult<IReadOnlyList<string>>([.. state.State.Names]);

    public async ValueTask AddAsync(string name)
    {
        if (state.State.Names.Add(name))
        {
            await state.WriteStateAsync();
        }
    }

    public async ValueTask RemoveAsync(string name)
    {
        if (state.State.Names.Remove(name))
        {
            await state.WriteStateAsync();
        }
    }
}
