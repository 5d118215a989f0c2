namespace Fabric.Silo.Tests.Secrets.Vault;
public sealed class ScratchLogDump
{
    [Fact]
    public async Task Dump()
    {
        await using var h = await VaultHarness.StartAsync();
        await h.Client.ReadKvAsync("secret", "mcp/github", null, CancellationToken.None);
        h.Vault.InjectFault("secret/data/", VaultFault.RateLimited("0"));
        await h.Client.ReadKvAsync("secret", "mcp/github", null, CancellationToken.None);
        try { await h.Client.ReadKvAsync("secret", "nope", null, CancellationToken.None); } catch (Fabric.Silo.Secrets.SecretSourceException) { }
        File.WriteAllText("/tmp/vault-logs.txt", h.AllLogText);
    }
}
