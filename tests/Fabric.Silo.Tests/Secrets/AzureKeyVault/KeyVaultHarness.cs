using Fabric.Contracts.Servers;
using Fabric.Silo.Secrets.AzureKeyVault;
using Fabric.Silo.Tests.Apis;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace Fabric.Silo.Tests.Secrets.AzureKeyVault;

/// <summary>
/// One test's world: a fresh <see cref="KeyVaultApiDouble"/>, a fake clock, a fake Entra credential, every
/// log line of the source captured, and the source under test built on a real <c>SecretClient</c>.
/// </summary>
public sealed class KeyVaultHarness : IAsyncDisposable
{
    public static readonly DateTimeOffset Start = new(2026, 11, 25, 9, 0, 0, TimeSpan.Zero);

    private readonly ILoggerFactory _loggers;

    private KeyVaultHarness(KeyVaultApiDouble vault, FakeTimeProvider time, AzureKeyVaultOptions options)
    {
        Vault = vault;
        Time = time;
        Options = options;
        _loggers = LoggerFactory.Create(logging => logging.SetMinimumLevel(LogLevel.Trace).AddProvider(Logs));
        Source = new AzureKeyVaultSecretSource(vault.CreateClient(Credential), options, time, _loggers.CreateLogger<AzureKeyVaultSecretSource>());
    }

    public KeyVaultApiDouble Vault { get; }

    public FakeTimeProvider Time { get; }

    public AzureKeyVaultOptions Options { get; }

    public FakeTokenCredential Credential { get; } = new();

    public LogCapture Logs { get; } = new();

    public AzureKeyVaultSecretSource Source { get; }

    public static async Task<KeyVaultHarness> StartAsync(TimeSpan? refreshInterval = null)
    {
        var time = new FakeTimeProvider(Start);
        var vault = await KeyVaultApiDouble.StartAsync(time);
        var options = new AzureKeyVaultOptions
        {
            Uri = vault.VaultUri,
            RefreshInterval = refreshInterval ?? TimeSpan.FromMinutes(5),
        };
        return new KeyVaultHarness(vault, time, options);
    }

    public static CredentialBinding Binding(string name, string? version = null) =>
        new(CredentialSources.AzureKeyVault, null, false, new InjectSpec("Authorization", "Bearer {secret}"), Name: name, Version: version);

    public async ValueTask DisposeAsync()
    {
        _loggers.Dispose();
        await Vault.DisposeAsync();
    }
}
