using System.Net;
using System.Text.Json;
using static Fabric.Silo.Tests.Apis.ApiRequests;

namespace Fabric.Silo.Tests.Apis;

/// <summary>
/// Issue 9 §2: <c>spiffe://&lt;td&gt;/fabric</c> and everything under it belong to the fabric's own
/// components. The API never mints one and no policy may name one; the edge still gets its own
/// <c>/fabric/edge/&lt;name&gt;</c> SVID from the CA grain (proved by the edge tests).
/// </summary>
[Collection(SiloApiCollection.Name)]
public sealed class ReservedIdentityTests(SiloApiFixture fixture)
{
    private const string Td = SiloApiFixture.TrustDomain;

    [Theory]
    [InlineData("spiffe://fabric.local/fabric")]
    [InlineData("spiffe://fabric.local/fabric/edge/e1")]
    [InlineData("spiffe://fabric.local/fabric/silo/s1")]
    public async Task Minting_a_reserved_id_is_a_400_naming_spiffeId(string spiffeId)
    {
        using var response = await fixture.Admin.SendAsync(Request("POST", "/v1/svids",
            JsonSerializer.Serialize(new { spiffeId, ttlSeconds = 60 })));

        var messages = await FieldErrorAsync(response, "spiffeId");
        Assert.Contains(messages, m => m.Contains("reserved", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("spiffe://fabric.local/Fabric/edge/e1")] // path segments are case-sensitive (SPIFFE-ID §2.3)
    [InlineData("spiffe://fabric.local/fabricate")]
    [InlineData("spiffe://fabric.local/agents/fabric")]
    public async Task Ids_that_only_look_reserved_are_minted(string spiffeId)
    {
        using var response = await fixture.Admin.SendAsync(Request("POST", "/v1/svids",
            JsonSerializer.Serialize(new { spiffeId, ttlSeconds = 60 })));

        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("spiffe://fabric.local/fabric/edge/e1")]
    [InlineData("spiffe://fabric.local/fabric/*")]
    [InlineData("spiffe://fabric.local/fabric")]
    [InlineData("spiffe://fabric.local/fabric/edge/*")]
    [InlineData("spiffe://partner.example/fabric/edge/e1")]
    [InlineData("spiffe://partner.example/fabric/*")]
    public async Task A_policy_naming_a_reserved_subject_is_a_400_naming_that_subject(string subject)
    {
        var name = SiloApiFixture.Unique("reserved");
        var body = JsonSerializer.Serialize(new
        {
            subjects = new[] { $"spiffe://{Td}/agents/a", subject },
            rules = new[] { new { server = "s", effect = "allow" } },
        });

        using var response = await fixture.Admin.SendAsync(Request("PUT", "/v1/policies/" + name, body));

        var messages = await FieldErrorAsync(response, "subjects[1]");
        Assert.Contains(messages, m => m.Contains("reserved", StringComparison.Ordinal));
        using var get = await fixture.Admin.GetAsync("/v1/policies/" + name);
        Assert.Equal(HttpStatusCode.NotFound, get.StatusCode);
    }

    [Theory]
    [InlineData("spiffe://fabric.local/*")] // trust-domain wide stays allowed; the edge refuses reserved agents itself
    [InlineData("spiffe://partner.example/*")]
    [InlineData("spiffe://fabric.local/fabricate/*")]
    [InlineData("spiffe://fabric.local/Fabric/edge/e1")]
    [InlineData("spiffe://fabric.local/agents/fabric/*")]
    public async Task Subjects_outside_the_reserved_path_are_accepted(string subject)
    {
        var body = JsonSerializer.Serialize(new { subjects = new[] { subject }, rules = new[] { new { server = "s", effect = "allow" } } });

        using var response = await fixture.Admin.SendAsync(Request("PUT", "/v1/policies/" + SiloApiFixture.Unique("unreserved"), body));

        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
    }
}
