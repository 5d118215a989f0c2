using System.Net;
using System.Text.Json.Nodes;
using static Fabric.Silo.Tests.Apis.ApiRequests;

namespace Fabric.Silo.Tests.Apis;

/// <summary>Issue 11 §1: <c>/v1/egress</c> validated like servers, stored, listed, pushed, deleted; egress rules in policies.</summary>
[Collection(SiloApiCollection.Name)]
public sealed class EgressApiTests(SiloApiFixture fixture)
{
    [Theory]
    [InlineData("""{"upstream":"http://api.example.com"}""", "upstream")]                       // https only
    [InlineData("""{"upstream":"https://169.254.169.254/"}""", "upstream")]                     // the metadata endpoint
    [InlineData("""{"upstream":"https://0x7f000001/"}""", "upstream")]
    [InlineData("""{"upstream":"https://api.example.com","tls":{"caFile":"ca.pem"}}""", "tls.caFile")]
    [InlineData("""{"upstream":"https://api.example.com","credential":{"source":"local","ref":"k","inject":{"header":"Host","format":"{secret}"}}}""", "credential.inject.header")]
    [InlineData("""{"upstream":"https://a.example.com","upstream":"https://b.example.com"}""", "upstream")] // a duplicate key
    public async Task A_bad_target_is_refused_naming_the_field_and_nothing_is_stored(string body, string field)
    {
        var name = SiloApiFixture.Unique("bad-egress");

        using (var put = await fixture.Admin.SendAsync(Request("PUT", "/v1/egress/" + name, body)))
        {
            Assert.NotEmpty(await FieldErrorAsync(put, field));
        }
        using var get = await fixture.Admin.GetAsync("/v1/egress/" + name);
        Assert.Equal(HttpStatusCode.NotFound, get.StatusCode);
    }

    [Fact]
    public async Task A_target_is_stored_listed_and_deleted()
    {
        var name = SiloApiFixture.Unique("egress");
        using (var put = await fixture.Admin.SendAsync(Request("PUT", "/v1/egress/" + name, """{"upstream":"https://api.example.com/v3","tls":{"caFile":"/etc/fabric/api-ca.pem"}}""")))
        {
            Assert.True(put.StatusCode == HttpStatusCode.OK, await put.Content.ReadAsStringAsync());
        }
        var stored = JsonNode.Parse(await fixture.Admin.GetStringAsync("/v1/egress/" + name))!;
        Assert.Equal("https://api.example.com/v3", (string?)stored["upstream"]);
        Assert.Equal("/etc/fabric/api-ca.pem", (string?)stored["caFile"]);
        var listed = JsonNode.Parse(await fixture.Admin.GetStringAsync("/v1/egress"))!["targets"]!.AsArray();
        Assert.Contains(listed, t => (string?)t!["name"] == name);

        using (var deleted = await fixture.Admin.DeleteAsync("/v1/egress/" + name))
        {
            Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        }
        using (var again = await fixture.Admin.DeleteAsync("/v1/egress/" + name))
        {
            Assert.Equal(HttpStatusCode.NotFound, again.StatusCode);
        }
        Assert.DoesNotContain(JsonNode.Parse(await fixture.Admin.GetStringAsync("/v1/egress"))!["targets"]!.AsArray(), t => (string?)t!["name"] == name);
    }

    [Fact]
    public async Task A_policy_holds_egress_rules_in_the_shape_they_were_put_in_and_refuses_mixed_ones()
    {
        var name = SiloApiFixture.Unique("egress-pol");
        const string Body = """{"subjects":["spiffe://fabric.local/servers/gh"],"rules":[{"egress":"github","effect":"allow","methods":["GET"],"paths":["/repos/acme-corp/*"]},{"server":"gh","effect":"allow"}]}""";
        using (var put = await fixture.Admin.SendAsync(Request("PUT", "/v1/policies/" + name, Body)))
        {
            Assert.True(put.StatusCode == HttpStatusCode.OK, await put.Content.ReadAsStringAsync());
        }
        var rules = JsonNode.Parse(await fixture.Admin.GetStringAsync("/v1/policies/" + name))!["rules"]!.AsArray();
        Assert.Equal("github", (string?)rules[0]!["egress"]);
        Assert.Null(rules[0]!["server"]);
        Assert.Equal("/repos/acme-corp/*", (string?)rules[0]!["paths"]![0]);
        Assert.Equal("gh", (string?)rules[1]!["server"]);
        Assert.Null(rules[1]!["egress"]);

        using var mixed = await fixture.Admin.SendAsync(Request("PUT", "/v1/policies/" + name,
            """{"subjects":["spiffe://fabric.local/servers/gh"],"rules":[{"server":"gh","egress":"github","effect":"allow"}]}"""));
        Assert.NotEmpty(await FieldErrorAsync(mixed, "rules[0].server"));
    }
}
