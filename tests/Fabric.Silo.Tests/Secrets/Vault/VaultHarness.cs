using Fabric.Silo.Secrets;
using Fabric.Silo.Secrets.Vault;
using Fabric.Silo.Tests.Apis;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace Fabric.Silo.Tests.Secrets.Vault;

/// <summary>
/// The Vault double plus the silo's Vault services wired the way the host wires them
/// (<see cref="VaultServiceCollectionExtensions.AddVaultSecretSources"/> over configuration), with
/// every log line at every level captured, a <see cref="FakeTimeProvider"/> shared by client and
/// double, and retry waits cut to milliseconds.
/// </summary>
internal sealed class VaultHarness : IAsyncDisposable
{
    private VaultHarness(VaultApiDouble vault, ServiceProvider services, LogCapture logs, FakeTimeProvider time)
    {
        Vault = vault;
        Services = services;
        Logs = logs;
        Time = time;
    }

    public VaultApiDouble Vault { get; }

    public ServiceProvider Services { get; }

    public LogCapture Logs { get; }

    public FakeTimeProvider Time { get; }

    public VaultClient Client => Services.GetRequiredService<VaultClient>();

    public ISecretSource Kv => Services.GetServices<ISecretSource>().Single(s => s.Source == "vault-kv");

    public ISecretSource Dynamic => Services.GetServices<ISecretSource>().Single(s => s.Source == "vault-dynamic");

    public static async Task<VaultHarness> StartAsync(Action<Dictionary<string, string?>>? configure = null, Action<VaultApiDouble>? arrange = null)
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 25, 9, 0, 0, TimeSpan.Zero));
        var vault = await VaultApiDouble.StartAsync(time);
        vault.PutKv("secret", "mcp/github", new Dictionary<string, object?> { ["token"] = "ghp_first-version-value-0001" });
        vault.PutKv("secret", "mcp/github", new Dictionary<string, object?> { ["token"] = "ghp_second-version-value-0002", ["owner"] = "fabric" },
            new Dictionary<string, string> { ["rotated-by"] = "ops" });
        vault.AddDatabaseRole("database", "readonly", TimeSpan.FromHours(1), TimeSpan.FromHours(24));
        // Before the settings: a configure callback may use what arrange created (a token, say).
        arrange?.Invoke(vault);

        var settings = new Dictionary<string, string?>
        {
            ["Fabric:Secrets:Vault:Address"] = vault.Address.ToString(),
            ["Fabric:Secrets:Vault:CaFile"] = vault.CaFile,
            ["Fabric:Secrets:Vault:Auth"] = "approle",
            ["Fabric:Secrets:Vault:RoleId"] = vault.RoleId,
            ["Fabric:Secrets:Vault:SecretId"] = vault.SecretId,
            ["Fabric:Secrets:Vault:MinRetryWait"] = "00:00:00.005",
            ["Fabric:Secrets:Vault:MaxRetryWait"] = "00:00:00.010",
            ["Fabric:Secrets:Vault:Timeout"] = "00:00:20",
        };
        configure?.Invoke(settings);
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();

        var logs = new LogCapture();
        var services = new ServiceCollection()
            .AddLogging(logging => logging.SetMinimumLevel(LogLevel.Trace).AddProvider(logs))
            .AddSingleton<TimeProvider>(time)
            .AddVaultSecretSources(configuration)
            .BuildServiceProvider();
        return new VaultHarness(vault, services, logs, time);
    }

    /// <summary>Everything a log reader could see, for secret scans.</summary>
    public string AllLogText => string.Join('\n', Logs.Lines);

    public async ValueTask DisposeAsync()
    {
        await Services.DisposeAsync();
        await Vault.DisposeAsync();
    }
}
