using System.Net;
using static Fabric.Silo.Tests.Apis.ApiRequests;

namespace Fabric.Silo.Tests.Apis;

/// <summary>
/// Issue 9 §8: bodies are read strictly. A duplicate name (RFC 8259 §4: names "SHOULD be unique",
/// and parsers disagree on which one wins) and a value of the wrong JSON type are 400s naming the
/// JSON path, never a silent pick and never a 500.
/// </summary>
[Collection(SiloApiCollection.Name)]
public sealed class StrictBodyTests(SiloApiFixture fixture)
{
    private const string Subjects = """["spiffe://fabric.local/agents/a"]""";

    /// <summary>"{u}" in a path is replaced by a unique name.</summary>
    [Theory]
    [InlineData("POST", "/v1/svids", """{"spiffeId":"spiffe://fabric.local/a","spiffeId":"spiffe://fabric.local/fabric/edge/e1"}""", "spiffeId")]
    [InlineData("POST", "/v1/svids", """{"spiffeId":"spiffe://fabric.local/a","ttlSeconds":60,"ttlSeconds":99999999}""", "ttlSeconds")]
    [InlineData("PUT", "/v1/secrets/{u}", """{"value":"first","value":"second"}""", "value")]
    [InlineData("POST", "/v1/svids", """{"spiffeId":"spiffe://fabric.local/a","SpiffeId":"spiffe://fabric.local/b"}""", "SpiffeId")]
    [InlineData("POST", "/v1/svids", """{"spiffeId":"spiffe://fabric.local/a","\u0073piffeId":"spiffe://fabric.local/b"}""", "spiffeId")]
    [InlineData("PUT", "/v1/workloads/fabric.local/{u}", """{"enabled":false,"enabled":true}""", "enabled")]
    [InlineData("PUT", "/v1/policies/{u}", """{"subjects":["spiffe://fabric.local/a"],"subjects":["spiffe://fabric.local/b"],"rules":[{"server":"s","effect":"allow"}]}""", "subjects")]
    [InlineData("PUT", "/v1/policies/{u}", """{"subjects":["spiffe://fabric.local/a"],"rules":[{"server":"s","effect":"deny","effect":"allow"}]}""", "rules[0].effect")]
    [InlineData("PUT", "/v1/policies/{u}", """{"subjects":["spiffe://fabric.local/a"],"rules":[{"server":"s","effect":"allow"},{"server":"t","server":"u","effect":"allow"}]}""", "rules[1].server")]
    [InlineData("PUT", "/v1/policies/{u}", """{"subjects":["spiffe://fabric.local/a"],"rules":[{"server":"s","effect":"allow","tools":["w"],"when":{"arguments":{"path":"/tmp/*","path":"*"}}}]}""", "rules[0].when.arguments.path")]
    [InlineData("PUT", "/v1/servers/{u}", """{"upstream":"https://a.example/mcp","upstream":"https://b.example/mcp"}""", "upstream")]
    [InlineData("PUT", "/v1/servers/{u}", """{"upstream":"https://a.example/mcp","credential":{"source":"local","ref":"k","inject":{"header":"Authorization","header":"X-Api-Key","format":"Bearer {secret}"}}}""", "credential.inject.header")]
    [InlineData("POST", "/v1/decisions", """{"workload":"spiffe://fabric.local/a","server":"s","method":"tools/call","name":"t","arguments":{"path":"/tmp/x","path":"/etc/passwd"}}""", "arguments.path")]
    [InlineData("POST", "/v1/decisions", """{"workload":"spiffe://fabric.local/a","server":"s","method":"tools/call","name":"t","arguments":{"o":{"k":1,"k":2}}}""", "arguments.o.k")]
    public async Task A_duplicate_name_anywhere_is_a_400_naming_its_path(string method, string path, string body, string field)
    {
        using var response = await fixture.Admin.SendAsync(Request(method, path.Replace("{u}", SiloApiFixture.Unique("dup"), StringComparison.Ordinal), body));

        var messages = await FieldErrorAsync(response, field);
        Assert.Contains(messages, m => m.Contains("duplicate", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public async Task A_duplicate_secret_value_is_refused_without_echoing_either_value()
    {
        using var response = await fixture.Admin.SendAsync(Request("PUT", "/v1/secrets/" + SiloApiFixture.Unique("dup"),
            """{"value":"dup-secret-one","value":"dup-secret-two"}"""));

        await FieldErrorAsync(response, "value");
        var text = await response.Content.ReadAsStringAsync();
        Assert.DoesNotContain("dup-secret-", text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("POST", "/v1/svids", """{"spiffeId":"spiffe://fabric.local/a","ttlSeconds":"3600"}""", "ttlSeconds")]
    [InlineData("POST", "/v1/svids", """{"spiffeId":"spiffe://fabric.local/a","ttlSeconds":"0x10"}""", "ttlSeconds")]
    [InlineData("POST", "/v1/svids", """{"spiffeId":"spiffe://fabric.local/a","ttlSeconds":3600.5}""", "ttlSeconds")]
    [InlineData("POST", "/v1/svids", """{"spiffeId":"spiffe://fabric.local/a","ttlSeconds":true}""", "ttlSeconds")]
    [InlineData("POST", "/v1/svids", """{"spiffeId":5}""", "spiffeId")]
    [InlineData("POST", "/v1/svids", """{"spiffeId":"spiffe://fabric.local/a","dnsNames":"a.local"}""", "dnsNames")]
    [InlineData("PUT", "/v1/policies/{u}", """{"subjects":Subjects,"rules":[{"server":"s","effect":0}]}""", "rules[0].effect")]
    [InlineData("PUT", "/v1/policies/{u}", """{"subjects":Subjects,"rules":[{"server":"s","effect":"1"}]}""", "rules[0].effect")]
    [InlineData("PUT", "/v1/policies/{u}", """{"subjects":Subjects,"rules":[{"server":"s","effect":"allow","tools":["t"],"when":{"arguments":{"n":5}}}]}""", "rules[0].when.arguments.n")]
    [InlineData("PUT", "/v1/servers/{u}", """{"upstream":"https://a.example/mcp","credential":{"source":"local","ref":"k","perWorkload":"true","inject":{"header":"Authorization","format":"Bearer {secret}"}}}""", "credential.perWorkload")]
    [InlineData("PUT", "/v1/workloads/fabric.local/{u}", """{"enabled":1}""", "enabled")]
    public async Task A_value_of_the_wrong_json_type_is_a_400_naming_it(string method, string path, string body, string field)
    {
        using var response = await fixture.Admin.SendAsync(Request(method, path.Replace("{u}", SiloApiFixture.Unique("type"), StringComparison.Ordinal),
            body.Replace("Subjects", Subjects, StringComparison.Ordinal)));

        await FieldErrorAsync(response, field);
    }

    /// <summary>
    /// A rule member the fabric does not know is refused: dropped silently, a misspelt narrowing (<c>annotation</c>,
    /// <c>tool</c>, <c>when.argument</c>) would leave a broader rule than the one written, up to an allow on the whole server.
    /// </summary>
    [Theory]
    [InlineData("""{"server":"s","effect":"allow","annotation":{"readOnlyHint":true}}""", "rules[0].annotation")]
    [InlineData("""{"server":"s","effect":"allow","tool":["read"]}""", "rules[0].tool")]
    [InlineData("""{"server":"s","effect":"allow","tools":["t"],"when":{"argument":{"path":"/tmp/*"}}}""", "rules[0].when.argument")]
    [InlineData("""{"server":"s","effect":"allow","annotations":{"readOnly":true}}""", "rules[0].annotations.readOnly")]
    public async Task An_unknown_rule_member_is_a_400_naming_it(string rule, string field)
    {
        using var response = await fixture.Admin.SendAsync(Request("PUT", "/v1/policies/" + SiloApiFixture.Unique("unknown"),
            $$"""{"subjects":{{Subjects}},"rules":[{{rule}}]}"""));

        await FieldErrorAsync(response, field);
    }

    [Theory]
    // A misspelt "identity" silently dropped would register a server without its pinned upstream identity.
    [InlineData("/v1/servers/", """{"upstream":"https://x.example.com/mcp","identiy":"spiffe://fabric.local/mcp/x"}""", "identiy")]
    [InlineData("/v1/servers/", """{"upstream":"https://x.example.com/mcp","credential":{"source":"local","ref":"k","perWorkloads":true,"inject":{"header":"A","format":"{secret}"}}}""", "credential.perWorkloads")]
    [InlineData("/v1/servers/", """{"upstream":"https://x.example.com/mcp","identity":"spiffe://fabric.local/mcp/a","Identity":"spiffe://fabric.local/mcp/b"}""", "Identity")]
    [InlineData("/v1/servers/", """{"upstream":"https://x.example.com/mcp","credential":{"source":"local","ref":"k","inject":{"header":"A","format":"{secret}","prefix":"x"}}}""", "credential.inject.prefix")]
    [InlineData("/v1/servers/", """{"launch":{"command":"dotnet","args":[],"environment":{"K":"v"}}}""", "launch.environment")]
    [InlineData("/v1/egress/", """{"upstream":"https://api.example.com","tls":{"caFile":"/x","insecure":true}}""", "tls.insecure")]
    public async Task An_unknown_server_or_egress_member_is_a_400_naming_it(string path, string body, string field)
    {
        using var response = await fixture.Admin.SendAsync(Request("PUT", path + SiloApiFixture.Unique("unknown"), body));
        await FieldErrorAsync(response, field);
    }

    [Fact]
    public async Task Numbers_as_numbers_and_enums_as_strings_are_still_accepted()
    {
        using (var svid = await fixture.Admin.SendAsync(Request("POST", "/v1/svids",
            """{"spiffeId":"spiffe://fabric.local/agents/strict-ok","ttlSeconds":3600,"dnsNames":[]}""")))
        {
            Assert.True(svid.StatusCode == HttpStatusCode.OK, await svid.Content.ReadAsStringAsync());
        }
        using var policy = await fixture.Admin.SendAsync(Request("PUT", "/v1/policies/" + SiloApiFixture.Unique("strict-ok"),
            """{"subjects":Subjects,"rules":[{"server":"s","effect":"allow","tools":["t"],"when":{"arguments":{"path":"/tmp/*","Path":"/x/*"}}}]}"""
                .Replace("Subjects", Subjects, StringComparison.Ordinal)));
        Assert.True(policy.StatusCode == HttpStatusCode.OK, await policy.Content.ReadAsStringAsync());
    }
}
