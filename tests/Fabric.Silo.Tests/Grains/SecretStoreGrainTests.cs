using System.Text;
using System.Text.Json;
using Fabric.Contracts.Grains;
using Fabric.Silo.Secrets;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Storage;

namespace Fabric.Silo.Tests.Grains;

/// <summary>The local store is the cluster's one "local" grain: tests give their secrets unique names.</summary>
[Collection(ClusterCollectionDefinition.Name)]
public sealed class SecretStoreGrainTests(ClusterFixture fixture)
{
    private ISecretStoreGrain Store => fixture.Client.LocalSecrets();

    [Fact]
    public async Task Values_are_encrypted_in_the_persisted_state_under_the_store_key()
    {
        var (name, value) = NewSecret();

        await Store.PutAsync(name, value);

        var stored = (await ReadStateAsync()).Secrets[name];
        var ciphertext = stored.Value.Ciphertext;
        Assert.Equal(12, stored.Value.Nonce.Length);
        Assert.Equal(16, stored.Value.Tag.Length);
        Assert.NotEqual(Encoding.UTF8.GetBytes(value), ciphertext);
        Assert.DoesNotContain(value, Encoding.UTF8.GetString(ciphertext), StringComparison.Ordinal);
        Assert.DoesNotContain(value, JsonSerializer.Serialize(stored), StringComparison.Ordinal);
        Assert.Equal(value, new LocalSecretProtector(ClusterFixture.LocalSecretKey).Decrypt(name, stored.Value));
    }

    [Fact]
    public async Task Putting_the_same_value_twice_stores_two_different_ciphertexts()
    {
        var (name, value) = NewSecret();

        await Store.PutAsync(name, value);
        var first = (await ReadStateAsync()).Secrets[name].Value;
        await Store.PutAsync(name, value);
        var second = (await ReadStateAsync()).Secrets[name].Value;

        Assert.NotEqual(first.Nonce, second.Nonce);
        Assert.NotEqual(first.Ciphertext, second.Ciphertext);
    }

    [Fact]
    public async Task Every_put_increments_the_revision_and_keeps_the_creation_time()
    {
        var (name, value) = NewSecret();

        await Store.PutAsync(name, value + "-1");
        var first = (await Store.ListAsync()).Single(s => s.Name == name);
        await Store.PutAsync(name, value + "-2");
        var second = (await Store.ListAsync()).Single(s => s.Name == name);
        var revealed = await Store.RevealAsync(name);

        Assert.Equal(1, first.Revision);
        Assert.Equal(2, second.Revision);
        Assert.Equal(first.CreatedAt, second.CreatedAt);
        Assert.True(second.UpdatedAt >= first.UpdatedAt);
        Assert.Equal(value + "-2", revealed!.Value);
        Assert.Equal(2, revealed.Revision);
    }

    [Fact]
    public async Task Reveal_returns_the_value_and_its_string_form_hides_it()
    {
        var (name, value) = NewSecret();
        await Store.PutAsync(name, value);

        var revealed = await Store.RevealAsync(name);

        Assert.Equal(value, revealed!.Value);
        Assert.DoesNotContain(value, revealed.ToString(), StringComparison.Ordinal);
        Assert.Null(await Store.RevealAsync("missing-" + name));
    }

    [Fact]
    public async Task List_names_secrets_with_times_and_never_the_value()
    {
        var (name, value) = NewSecret();
        await Store.PutAsync(name, value);

        var listed = await Store.ListAsync();

        var info = Assert.Single(listed, s => s.Name == name);
        Assert.DoesNotContain(value, info.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(value, JsonSerializer.Serialize(listed), StringComparison.Ordinal);
        Assert.Equal(listed.Select(s => s.Name).Order(StringComparer.Ordinal), listed.Select(s => s.Name));
    }

    [Fact]
    public async Task Delete_removes_the_value_and_reports_whether_there_was_one()
    {
        var (name, value) = NewSecret();
        await Store.PutAsync(name, value);

        Assert.True(await Store.DeleteAsync(name));
        Assert.False(await Store.DeleteAsync(name));

        Assert.Null(await Store.RevealAsync(name));
        Assert.DoesNotContain(await Store.ListAsync(), s => s.Name == name);
        Assert.False((await ReadStateAsync()).Secrets.ContainsKey(name));
    }

    [Fact]
    public async Task Values_survive_deactivation()
    {
        var (name, value) = NewSecret();
        await Store.PutAsync(name, value);

        await fixture.Cluster.DeactivateAsync(Store);

        Assert.Equal(value, (await Store.RevealAsync(name))!.Value);
    }

    private async Task<SecretStoreState> ReadStateAsync()
    {
        var storage = fixture.SiloServices.GetRequiredKeyedService<IGrainStorage>("fabric");
        var state = new GrainState<SecretStoreState>();
        await storage.ReadStateAsync("secrets", Store.GetGrainId(), state);
        Assert.True(state.RecordExists);
        return state.State ?? throw new InvalidOperationException("no secret store state");
    }

    private static (string Name, string Value) NewSecret() =>
        ("store-" + Guid.NewGuid().ToString("N")[..10], "value-" + Guid.NewGuid().ToString("N"));
}
