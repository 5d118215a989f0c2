using Fabric.Contracts.Grains;
using Fabric.Contracts.Servers;

namespace Fabric.Silo.Tests.Grains;

/// <summary>
/// The server grain validates what it stores (issue 9 §8, "like policies"): a caller that skips
/// the API cannot store a definition the API would refuse, and a refused put changes nothing.
/// </summary>
[Collection(ClusterCollectionDefinition.Name)]
public sealed class McpServerGrainTests(ClusterFixture fixture)
{
    private static readonly CredentialBinding GoodBinding =
        new(CredentialSources.Local, "tok", false, new InjectSpec("Authorization", "Bearer {secret}"));

    public static TheoryData<string, string?, CredentialBinding?> Refused => new()
    {
        { "http://10.0.0.1/mcp", null, null },
        { "https://169.254.169.254/latest", null, null },
        { "http://0x7f000001/mcp", null, null },
        { "https://0.0.0.0/mcp", null, null },
        { "https://tools.example/mcp", "spiffe://Bad/x", null },
        { "https://tools.example/mcp", null, GoodBinding with { Inject = new InjectSpec("Host", "{secret}") } },
    };

    [Theory]
    [MemberData(nameof(Refused))]
    public async Task A_definition_the_api_would_refuse_is_refused_by_the_grain_and_the_old_one_stays(
        string upstream, string? identity, CredentialBinding? credential)
    {
        var grain = fixture.Client.Server("grain-" + Guid.NewGuid().ToString("N")[..10]);
        var before = await grain.PutAsync(new Uri("https://tools.example/mcp"), null, null);

        var refused = await Assert.ThrowsAsync<ArgumentException>(async () => await grain.PutAsync(new Uri(upstream), identity, credential));

        Assert.Contains(identity is not null ? "identity" : credential is not null ? "credential" : "upstream", refused.Message, StringComparison.Ordinal);
        Assert.Equal(before, await grain.GetAsync());
    }

    [Fact]
    public async Task A_route_name_that_is_not_a_server_name_is_refused()
    {
        var grain = fixture.Client.Server("Bad_Name");

        await Assert.ThrowsAsync<ArgumentException>(async () => await grain.PutAsync(new Uri("https://tools.example/mcp"), null, null));

        Assert.Null(await grain.GetAsync());
    }
}
