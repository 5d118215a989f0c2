using ModelContextProtocol.Client;
using System.Security.Cryptography.X509Certificates;
using Fabric.Edge.Tests.Fixtures;

namespace Fabric.Edge.Tests.EndToEnd;

/// <summary>
/// One test's slice of the shared fabric: its own server (pointing at the shared upstream), secret,
/// policy and agent identity, so tests never see each other's grants.
/// </summary>
internal sealed class Scenario
{
    public required FabricFixture Fabric { get; init; }
    public required string Server { get; init; }
    public required string Secret { get; init; }
    public required string SecretValue { get; init; }
    public required string Policy { get; init; }
    public required string Agent { get; init; }
    public required X509Certificate2 Certificate { get; init; }

    /// <summary>Registers a server with a local credential, and a policy for a fresh agent with <paramref name="rules"/>.</summary>
    public static async Task<Scenario> CreateAsync(FabricFixture fabric, Func<string, object[]> rules, Uri? upstream = null, string? identity = null, int svidTtlSeconds = 3600)
    {
        var server = FabricFixture.Unique("srv");
        var secret = FabricFixture.Unique("key");
        var value = "sk-live-" + Guid.NewGuid().ToString("N");
        var agent = $"spiffe://{FabricFixture.TrustDomain}/agents/{FabricFixture.Unique("agent")}";
        await fabric.PutAsync($"/v1/secrets/{secret}", new { value });
        await fabric.PutAsync($"/v1/servers/{server}", new
        {
            upstream = (upstream ?? fabric.Upstream.Endpoint).ToString(),
            identity,
            credential = new { source = "local", @ref = secret, inject = new { header = "Authorization", format = "Bearer {secret}" } },
        });
        var policy = FabricFixture.Unique("pol");
        await fabric.PutAsync($"/v1/policies/{policy}", new { subjects = new[] { agent }, rules = rules(server) });
        return new Scenario
        {
            Fabric = fabric,
            Server = server,
            Secret = secret,
            SecretValue = value,
            Policy = policy,
            Agent = agent,
            Certificate = await fabric.MintSvidAsync(agent, svidTtlSeconds),
        };
    }

    public Task<ConnectedMcpClient> ConnectAsync(ProtocolGeneration generation, McpClientHandlers? handlers = null) =>
        Fabric.ConnectAsync(Server, Certificate, generation, handlers);

    public Task SetRulesAsync(params object[] rules) =>
        Fabric.PutAsync($"/v1/policies/{Policy}", new { subjects = new[] { Agent }, rules });
}
