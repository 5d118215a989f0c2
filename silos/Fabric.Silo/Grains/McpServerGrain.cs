using Fabric.Contracts.Identity;
using Fabric.Contracts.Servers;
using Microsoft.Extensions.Options;

namespace Fabric.Silo.Grains;

[GenerateSerializer, Alias("fabric.mcp-server-state")]
public sealed class McpServerState
{
    [Id(0)] public McpServerDefinition? Definition { get; set; }
    [Id(1)] public long Revision { get; set; }
}

/// <summary>
/// One MCP server (key = route name). The definition is validated here, where it is accepted, with
/// the same rules as the API (which validates first to answer with field errors): no caller can store
/// one the API would refuse. Every change is pushed to every edge, which drops its cached
/// definition, grants and credentials.
/// </summary>
public sealed class McpServerGrain(
    [PersistentState("server", GrainStorage.Name)] IPersistentState<McpServerState> state,
    TimeProvider time,
    IOptions<ServerOptions> options) : Grain, IMcpServerGrain
{
    public ValueTask<McpServerDefinition?> GetAsync() => ValueTask.FromResult(state.State.Definition);

    public async ValueTask<McpServerDefinition> PutAsync(Uri? upstream, string? identity, CredentialBinding? credential, ReflectionAction onReflection = ReflectionAction.Redact,
        string? agentJwtAudience = null, LaunchSpec? launch = null, ToolLockMode toolLock = ToolLockMode.TrustOnFirstUse)
    {
        var name = this.GetPrimaryKeyString();
        // Whether a source is configured is the API's check (it varies per silo); an unknown one fails closed at lease time.
        // So is a declared value holding a stored secret (the API asks the store); the shape of a key is checked here too.
        var errors = McpServerValidator.Validate(name, upstream, identity, credential, availableSources: null, options.Value.AllowLinkLocal, agentJwtAudience, launch);
        if (!Enum.IsDefined(onReflection))
        {
            errors = new Dictionary<string, string[]>(errors) { ["onReflection"] = ["onReflection must be 'redact' or 'block'"] };
        }
        if (!Enum.IsDefined(toolLock))
        {
            errors = new Dictionary<string, string[]>(errors) { ["toolLock"] = ["toolLock must be 'trust-on-first-use', 'approve' or 'off'"] };
        }
        if (errors.Count > 0)
        {
            throw new ArgumentException("invalid server definition: " + string.Join("; ", errors.Select(e => $"{e.Key}: {string.Join(" ", e.Value)}")));
        }
        // Revisions keep counting across delete and re-create so that an edge never confuses two lives.
        state.State.Revision++;
        var definition = new McpServerDefinition(name, launch is null ? upstream! : LaunchSpec.UpstreamFor(name), identity is null ? null : SpiffeId.Parse(identity),
            credential, state.State.Revision, time.GetUtcNow(), onReflection, agentJwtAudience is null ? null : SpiffeId.Parse(agentJwtAudience), Launch: launch, ToolLock: toolLock);
        state.State.Definition = definition;
        await state.WriteStateAsync();
        await GrainFactory.ServerDirectory().AddAsync(name);
        await PublishAsync();
        return definition;
    }

    public async ValueTask<bool> DeleteAsync()
    {
        if (state.State.Definition is null)
        {
            return false;
        }
        state.State.Definition = null;
        state.State.Revision++;
        await state.WriteStateAsync();
        await GrainFactory.ToolLock(this.GetPrimaryKeyString()).ResetAsync();
        await GrainFactory.ServerDirectory().RemoveAsync(this.GetPrimaryKeyString());
        await PublishAsync();
        return true;
    }

    private async Task PublishAsync()
    {
        var name = this.GetPrimaryKeyString();
        await GrainFactory.Hub().PublishAsync(new Invalidation(InvalidationKind.Server, name, state.State.Revision));
        // The lock's view depends on the mode: edges drop theirs with the server's.
        // Leases of the old binding end now, at their source, not at their natural expiry. They are
        // handed the new definition: this grain is still in this call and is not asked for it.
        await GrainFactory.Leases().ReconcileServerAsync(name, state.State.Definition);

    }
}
