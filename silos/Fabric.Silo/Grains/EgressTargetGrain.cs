using Fabric.Contracts.Servers;
using Microsoft.Extensions.Options;

namespace Fabric.Silo.Grains;

[GenerateSerializer, Alias("fabric.egress-target-state")]
public sealed class EgressTargetState
{
    [Id(0)] public EgressTargetDefinition? Definition { get; set; }
    [Id(1)] public long Revision { get; set; }
}

/// <summary>
/// One egress target (key = its name), validated here with the API's rules like a server. Every change is pushed to
/// every edge under the target's <c>egress:</c> key (edges drop the cached target, the egress grants on it and its
/// credential), and the target's lease is reconciled with the new binding before the call returns.
/// </summary>
public sealed class EgressTargetGrain(
    [PersistentState("egress", GrainStorage.Name)] IPersistentState<EgressTargetState> state,
    TimeProvider time,
    IOptions<ServerOptions> options) : Grain, IEgressTargetGrain
{
    public ValueTask<EgressTargetDefinition?> GetAsync() => ValueTask.FromResult(state.State.Definition);

    public async ValueTask<EgressTargetDefinition> PutAsync(Uri upstream, CredentialBinding? credential, string? caFile)
    {
        var name = this.GetPrimaryKeyString();
        var input = new EgressTargetInput(upstream.OriginalString,
            credential is null ? null : CredentialBindingInput.From(credential),
            caFile is null ? null : new EgressTlsInput(caFile));
        var errors = McpServerValidator.ValidateEgressTarget(name, input, availableSources: null, options.Value.AllowLinkLocal);
        if (errors.Count > 0)
        {
            throw new ArgumentException("invalid egress target: " + string.Join("; ", errors.Select(e => $"{e.Key}: {string.Join(" ", e.Value)}")));
        }
        state.State.Revision++;
        var definition = new EgressTargetDefinition(name, upstream, credential, caFile, state.State.Revision, time.GetUtcNow());
        state.State.Definition = definition;
        await state.WriteStateAsync();
        await GrainFactory.EgressDirectory().AddAsync(name);
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
        await GrainFactory.EgressDirectory().RemoveAsync(this.GetPrimaryKeyString());
        await PublishAsync();
        return true;
    }

    private async Task PublishAsync()
    {
        var key = EgressTargetDefinition.KeyFor(this.GetPrimaryKeyString());
        await GrainFactory.Hub().PublishAsync(new Invalidation(InvalidationKind.Server, key, state.State.Revision));
        await GrainFactory.Leases().ReconcileServerAsync(key, state.State.Definition?.AsUpstream());
    }
}
