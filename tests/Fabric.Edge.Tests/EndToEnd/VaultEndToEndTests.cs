using System.Diagnostics;
using System.Text.Json;
using Fabric.Edge.Tests.Fixtures;
using Fabric.Silo.Tests.Secrets.Vault;

namespace Fabric.Edge.Tests.EndToEnd;

/// <summary>The fabric with Vault (AppRole, against the Vault API double) as the secret source.</summary>
public sealed class VaultFabricFixture : FabricFixture
{
    public VaultApiDouble Vault { get; private set; } = null!;

    public override async Task InitializeAsync()
    {
        Vault = await VaultApiDouble.StartAsync();
        Vault.AddDatabaseRole("database", "readonly", TimeSpan.FromHours(1), TimeSpan.FromHours(24));
        await base.InitializeAsync();
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await Vault.DisposeAsync();
    }

    protected override IEnumerable<string> SiloArguments() =>
    [
        $"--Fabric:Secrets:Vault:Address={Vault.Address}",
        "--Fabric:Secrets:Vault:Auth=approle",
        $"--Fabric:Secrets:Vault:RoleId={Vault.RoleId}",
        $"--Fabric:Secrets:Vault:SecretId={Vault.SecretId}",
        $"--Fabric:Secrets:Vault:CaFile={Vault.CaFile}",
    ];
}

public sealed class VaultEndToEndTests(VaultFabricFixture fabric, Xunit.Abstractions.ITestOutputHelper output) : IClassFixture<VaultFabricFixture>
{
    [Fact]
    public async Task Two_agents_reach_the_upstream_with_their_own_dynamic_credentials_and_a_revoked_grant_revokes_the_lease()
    {
        var server = FabricFixture.Unique("db");
        await fabric.PutAsync($"/v1/servers/{server}", new
        {
            upstream = fabric.Upstream.Endpoint.ToString(),
            credential = new
            {
                source = "vault-dynamic", path = "database/creds/readonly", field = "password", perWorkload = true,
                inject = new { header = "Authorization", format = "Bearer {secret}" },
            },
        });
        var a = $"spiffe://{FabricFixture.TrustDomain}/agents/{FabricFixture.Unique("a")}";
        var b = $"spiffe://{FabricFixture.TrustDomain}/agents/{FabricFixture.Unique("b")}";
        var policy = FabricFixture.Unique("pol");
        await fabric.PutAsync($"/v1/policies/{policy}", new { subjects = new[] { a, b }, rules = new[] { new { server, effect = "allow", tools = new[] { "echo" } } } });
        await using var agentA = await fabric.ConnectAsync(server, await fabric.MintSvidAsync(a), ProtocolGeneration.Stateless2026);
        await using var agentB = await fabric.ConnectAsync(server, await fabric.MintSvidAsync(b), ProtocolGeneration.Stateless2026);
        var seenByAgents = new List<string>();

        foreach (var (agent, text) in new[] { (agentA, "from-a-" + a), (agentB, "from-b-" + b) })
        {
            var result = await agent.Client.CallToolAsync("echo", new Dictionary<string, object?> { ["text"] = text });
            seenByAgents.Add(JsonSerializer.Serialize(result));
        }

        var authA = fabric.Upstream.Requests.Last(r => r.Body.Contains("from-a-", StringComparison.Ordinal) && r.Body.Contains(a, StringComparison.Ordinal)).Header("Authorization");
        var authB = fabric.Upstream.Requests.Last(r => r.Body.Contains("from-b-", StringComparison.Ordinal) && r.Body.Contains(b, StringComparison.Ordinal)).Header("Authorization");
        var leases = fabric.Vault.Leases.Where(l => l.Id.StartsWith("database/creds/readonly/", StringComparison.Ordinal)).ToList();
        var leaseA = Assert.Single(leases, l => "Bearer " + l.Password == authA);
        var leaseB = Assert.Single(leases, l => "Bearer " + l.Password == authB);
        Assert.NotEqual(leaseA.Id, leaseB.Id);

        // Revoke b's grant: by the time the management call returns, Vault has revoked b's lease.
        var stopwatch = Stopwatch.StartNew();
        await fabric.PutAsync($"/v1/policies/{policy}", new { subjects = new[] { a }, rules = new[] { new { server, effect = "allow", tools = new[] { "echo" } } } });
        var revokedWithin = stopwatch.Elapsed;
        output.WriteLine($"grant revoked → Vault lease revoked, management call returned after {revokedWithin.TotalMilliseconds:F1} ms");
        Assert.True(fabric.Vault.Lease(leaseB.Id)!.Revoked, "b's Vault lease was not revoked when the grant went away");
        Assert.True(revokedWithin < TimeSpan.FromSeconds(1), $"revocation took {revokedWithin}");
        Assert.False(fabric.Vault.Lease(leaseA.Id)!.Revoked);

        // b may no longer speak to the server at all: 403 at the HTTP level, reason no-matching-allow.
        var denied = await Assert.ThrowsAsync<HttpRequestException>(() =>
            agentB.Client.CallToolAsync("echo", new Dictionary<string, object?> { ["text"] = "after" }).AsTask());
        Assert.Equal(System.Net.HttpStatusCode.Forbidden, denied.StatusCode);
        Assert.Contains("no-matching-allow", denied.Message, StringComparison.Ordinal);
        await agentA.Client.CallToolAsync("echo", new Dictionary<string, object?> { ["text"] = "still-a" });

        // The dynamic passwords appear nowhere the agents, the logs, the audit or the API can show.
        await fabric.FlushAuditAsync();
        var observable = new List<string>(seenByAgents)
        {
            await fabric.Admin.GetStringAsync("/v1/audit?limit=1000"),
            await fabric.Admin.GetStringAsync($"/v1/servers/{server}/credential"),
            await fabric.Admin.GetStringAsync("/v1/servers"),
        };
        observable.AddRange(fabric.EdgeLogs.Lines);
        observable.AddRange(fabric.SiloLogs.Lines);
        foreach (var password in new[] { leaseA.Password!, leaseB.Password! })
        {
            Assert.All(observable, text => Assert.DoesNotContain(password, text, StringComparison.Ordinal));
        }
    }
}
