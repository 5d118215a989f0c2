namespace Fabric.Silo.Secrets;

[GenerateSerializer, Alias("fabric.secret-store-state")]
public sealed class SecretStoreState
{
    [Id(0)] public Dictionary<string, StoredSecret> Secrets { get; set; } = new(StringComparer.Ordinal);
}

[GenerateSerializer, Alias("fabric.stored-secret")]
public sealed class StoredSecret
{
    [Id(0)] public required EncryptedValue Value { get; set; }
    [Id(1)] public DateTimeOffset CreatedAt { get; set; }
    [Id(2)] public DateTimeOffset UpdatedAt { get; set; }
    [Id(3)] public int Revision { get; set; }
}

/// <summary>
/// The local secret store (the embedded default source). Values are encrypted before they touch
/// grain state; the only way out in clear is <see cref="RevealAsync"/>, called by lease grains.
/// A change pushes a credential invalidation so edges drop spliced values at once.
/// </summary>
public sealed class SecretStoreGrain(
    [PersistentState("secrets", Grains.GrainStorage.Name)] IPersistentState<SecretStoreState> state,
    LocalSecretProtector protector,
    TimeProvider time) : Grain, ISecretStoreGrain
{
    public async ValueTask PutAsync(string name, string value)
    {
        var now = time.GetUtcNow();
        var existing = state.State.Secrets.GetValueOrDefault(name);
        state.State.Secrets[name] = new StoredSecret
        {
            Value = protector.Encrypt(name, value),
            CreatedAt = existing?.CreatedAt ?? now,
            UpdatedAt = now,
            Revision = (existing?.Revision ?? 0) + 1,
        };
        await state.WriteStateAsync();
        await PublishAsync(name);
    }

    public async ValueTask<bool> DeleteAsync(string name)
    {
        if (!state.State.Secrets.Remove(name))
        {
            return false;
        }
        await state.WriteStateAsync();
        await PublishAsync(name);
        return true;
    }

    public ValueTask<IReadOnlyList<SecretInfo>> ListAsync() =>
        ValueTask.FromResult<IReadOnlyList<SecretInfo>>(
            [.. state.State.Secrets.OrderBy(s => s.Key, StringComparer.Ordinal)
                .Select(s => new SecretInfo(s.Key, s.Value.CreatedAt, s.Value.UpdatedAt, s.Value.Revision))]);

    public ValueTask<SecretReveal?> RevealAsync(string name) => ValueTask.FromResult(Reveal(name));

    public ValueTask<IReadOnlyList<string>> FindHoldingSecretAsync(IReadOnlyList<string> values)
    {
        if (values.Count == 0 || state.State.Secrets.Count == 0)
        {
            return ValueTask.FromResult<IReadOnlyList<string>>([]);
        }
        var secrets = state.State.Secrets.Keys.Select(name => Reveal(name)!.Value).Where(v => v.Length >= 8).ToList();
        return ValueTask.FromResult<IReadOnlyList<string>>(
            [.. values.Where(value => secrets.Any(secret => value.Contains(secret, StringComparison.Ordinal)))]);
    }

    private SecretReveal? Reveal(string name) =>
        state.State.Secrets.TryGetValue(name, out var stored)
            ? new SecretReveal { Value = protector.Decrypt(name, stored.Value), Revision = stored.Revision }
            : null;

    // Leases built on a changed secret replace themselves (and push that to the edges); edges
    // also drop every cached credential, since they cannot tell which ones used this secret.
    // The leases are handed the new value: they do not reveal it from this grain, which is still in this call.
    private async Task PublishAsync(string name)
    {
        await GrainFactory.Leases().ReconcileLocalSecretAsync(name, Reveal(name));
        await GrainFactory.Hub().PublishAsync(new Invalidation(InvalidationKind.Credential, null, 0));
    }
}
