using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Fabric.Contracts.Grains;
using Fabric.Silo.Hosting;
using Fabric.Silo.Tests.Apis;
using Fabric.Silo.Tests.Secrets.Vault;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Fabric.Silo.Tests.Secrets;

/// <summary>
/// The real silo host configured for Vault (AppRole) against the Vault API double: the whole path
/// from management API to lease grain to the typed Vault client and back.
/// </summary>
public sealed class VaultFabricFixture : IAsyncLifetime
{
    private readonly string _dataDirectory = Path.Combine(Path.GetTempPath(), "fabric-vault-" + Guid.NewGuid().ToString("N"));
    private WebApplication? _app;

    public VaultApiDouble Vault { get; private set; } = null!;
    public LogCapture Logs { get; } = new();
    public HttpClient Admin { get; private set; } = null!;
    public IGrainFactory Grains => _app!.Services.GetRequiredService<IGrainFactory>();

    public async Task InitializeAsync()
    {
        Vault = await VaultApiDouble.StartAsync();
        Vault.AddDatabaseRole("database", "readonly", TimeSpan.FromHours(1), TimeSpan.FromHours(24));
        var siloPort = FreePort.Next();
        _app = FabricSiloApp.Build(
            [
                $"--Fabric:Cluster:SiloPort={siloPort}",
                $"--Fabric:Cluster:GatewayPort={FreePort.Next()}",
                $"--Fabric:Cluster:ClusterId=vault-{siloPort}",
                $"--Fabric:DataDirectory={_dataDirectory}",
                "--urls=http://127.0.0.1:0",
                EdgeJoinArguments.AnyBootstrapPort,
                "--FABRIC_ADMIN_TOKEN=vault-fabric-admin-token",
                $"--Fabric:Secrets:Vault:Address={Vault.Address}",
                "--Fabric:Secrets:Vault:Auth=approle",
                $"--Fabric:Secrets:Vault:RoleId={Vault.RoleId}",
                $"--Fabric:Secrets:Vault:SecretId={Vault.SecretId}",
                $"--Fabric:Secrets:Vault:CaFile={Vault.CaFile}",
                "--Fabric:Secrets:Vault:MaxRetries=0",
            ],
            builder =>
            {
                builder.Logging.ClearProviders();
                builder.Logging.SetMinimumLevel(LogLevel.Debug);
                builder.Logging.AddFilter("Orleans", LogLevel.Information);
                builder.Logging.AddProvider(Logs);
            });
        await _app.StartAsync();
        var url = new Uri(_app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        Admin = new HttpClient { BaseAddress = url };
        Admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "vault-fabric-admin-token");
    }

    public async Task DisposeAsync()
    {
        Admin.Dispose();
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
        await Vault.DisposeAsync();
        try
        {
            Directory.Delete(_dataDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    public async Task PutAsync(string path, object body)
    {
        using var response = await Admin.PutAsJsonAsync(path, body);
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"PUT {path} → {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        }
    }
}

[CollectionDefinition(Name)]
public sealed class VaultFabricCollection : ICollectionFixture<VaultFabricFixture>
{
    public const string Name = "vault-fabric";
}

[Collection(VaultFabricCollection.Name)]
public sealed class VaultFabricTests(VaultFabricFixture fabric)
{
    private static object Inject => new { header = "Authorization", format = "Bearer {secret}" };

    [Fact]
    public async Task Per_workload_dynamic_credentials_are_distinct_and_revoked_when_the_grant_or_the_server_goes()
    {
        var server = SiloApiFixture.Unique("db");
        await fabric.PutAsync($"/v1/servers/{server}", new
        {
            upstream = "https://db-tools.example/mcp",
            credential = new { source = "vault-dynamic", path = "database/creds/readonly", field = "password", perWorkload = true, inject = Inject },
        });
        var a = $"spiffe://fabric.local/agents/{SiloApiFixture.Unique("a")}";
        var b = $"spiffe://fabric.local/agents/{SiloApiFixture.Unique("b")}";
        var policy = SiloApiFixture.Unique("pol");
        await fabric.PutAsync($"/v1/policies/{policy}", new { subjects = new[] { a, b }, rules = new[] { new { server, effect = "allow" } } });

        var credA = (await fabric.Grains.Lease(ICredentialLeaseGrain.KeyFor(server, a)).GetAsync()).Credential!;
        var credB = (await fabric.Grains.Lease(ICredentialLeaseGrain.KeyFor(server, b)).GetAsync()).Credential!;
        var leaseA = fabric.Vault.Lease(credA.LeaseId["vault-dynamic:".Length..])!;
        var leaseB = fabric.Vault.Lease(credB.LeaseId["vault-dynamic:".Length..])!;

        Assert.StartsWith("database/creds/readonly/", leaseA.Id, StringComparison.Ordinal);
        Assert.NotEqual(leaseA.Id, leaseB.Id);
        Assert.Equal("Bearer " + leaseA.Password, credA.HeaderValue);
        Assert.Equal("Bearer " + leaseB.Password, credB.HeaderValue);

        // b loses its grant: its Vault lease is revoked at once, a's stays.
        await fabric.PutAsync($"/v1/policies/{policy}", new { subjects = new[] { a }, rules = new[] { new { server, effect = "allow" } } });
        Assert.True(fabric.Vault.Lease(leaseB.Id)!.Revoked);
        Assert.False(fabric.Vault.Lease(leaseA.Id)!.Revoked);

        // The server goes: a's lease is revoked too.
        using (var deleted = await fabric.Admin.DeleteAsync($"/v1/servers/{server}"))
        {
            deleted.EnsureSuccessStatusCode();
        }
        Assert.True(fabric.Vault.Lease(leaseA.Id)!.Revoked);
        Assert.All(fabric.Logs.Lines, l =>
        {
            Assert.DoesNotContain(leaseA.Password!, l, StringComparison.Ordinal);
            Assert.DoesNotContain(leaseB.Password!, l, StringComparison.Ordinal);
        });
    }

    [Fact]
    public async Task A_kv_secret_is_spliced_and_rotation_picks_up_a_new_version()
    {
        var path = "mcp/" + SiloApiFixture.Unique("github");
        fabric.Vault.PutKv("secret", path, new Dictionary<string, object?> { ["token"] = "ghp_first_" + Guid.NewGuid().ToString("N") });
        var server = SiloApiFixture.Unique("gh");
        await fabric.PutAsync($"/v1/servers/{server}", new
        {
            upstream = "https://github-tools.example/mcp",
            credential = new { source = "vault-kv", mount = "secret", path, field = "token", inject = Inject },
        });
        var lease = fabric.Grains.Lease(server);
        var first = (await lease.GetAsync()).Credential!;
        var second = "ghp_second_" + Guid.NewGuid().ToString("N");
        fabric.Vault.PutKv("secret", path, new Dictionary<string, object?> { ["token"] = second });

        using var rotated = await fabric.Admin.PostAsync($"/v1/servers/{server}/credential:rotate", null);
        rotated.EnsureSuccessStatusCode();
        var now = (await lease.GetAsync()).Credential!;

        Assert.StartsWith("Bearer ghp_first_", first.HeaderValue, StringComparison.Ordinal);
        Assert.Equal("Bearer " + second, now.HeaderValue);
        using var status = JsonDocument.Parse(await fabric.Admin.GetStringAsync($"/v1/servers/{server}/credential"));
        var state = Assert.Single(status.RootElement.GetProperty("leases").EnumerateArray());
        Assert.Equal("vault-kv", state.GetProperty("source").GetString());
        Assert.Equal("2", state.GetProperty("version").GetString());
        Assert.DoesNotContain(second, status.RootElement.GetRawText(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_deleted_kv_version_is_credential_unavailable_not_an_empty_secret()
    {
        var path = "mcp/" + SiloApiFixture.Unique("gone");
        var version = fabric.Vault.PutKv("secret", path, new Dictionary<string, object?> { ["token"] = "t" });
        fabric.Vault.DeleteKvVersion("secret", path, version);
        var server = SiloApiFixture.Unique("gone");
        await fabric.PutAsync($"/v1/servers/{server}", new
        {
            upstream = "https://gone.example/mcp",
            credential = new { source = "vault-kv", mount = "secret", path, field = "token", inject = Inject },
        });

        var result = await fabric.Grains.Lease(server).GetAsync();

        Assert.Null(result.Credential);
        Assert.False(string.IsNullOrEmpty(result.Error));
    }

    [Fact]
    public async Task Health_names_vault_when_it_is_sealed()
    {
        fabric.Vault.Health = VaultHealthState.Sealed;
        try
        {
            using var health = JsonDocument.Parse(await fabric.Admin.GetStringAsync("/health"));
            var sources = health.RootElement.GetProperty("entries").GetProperty("secret-sources");
            Assert.Equal("Degraded", sources.GetProperty("status").GetString());
            Assert.StartsWith("failing", sources.GetProperty("data").GetProperty("vault-dynamic").GetString(), StringComparison.Ordinal);
            Assert.Equal("healthy", sources.GetProperty("data").GetProperty("local").GetString());
        }
        finally
        {
            fabric.Vault.Health = VaultHealthState.Active;
        }
    }
}
