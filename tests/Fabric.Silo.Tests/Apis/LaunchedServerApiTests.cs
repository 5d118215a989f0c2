using System.Net;
using System.Text.Json.Nodes;
using static Fabric.Silo.Tests.Apis.ApiRequests;

namespace Fabric.Silo.Tests.Apis;

/// <summary>Issue 11 §4: <c>PUT /v1/servers/{name}</c> with <c>launch</c>: stored as <c>stdio:{name}</c>, keys refused at registration.</summary>
[Collection(SiloApiCollection.Name)]
public sealed class LaunchedServerApiTests(SiloApiFixture fixture)
{
    [Fact]
    public async Task A_launched_server_is_stored_with_its_launch_spec_and_a_stdio_upstream()
    {
        var name = SiloApiFixture.Unique("stdio");
        var body = $$"""{"identity":"spiffe://fabric.local/mcp/{{name}}","launch":{"command":"npx","args":["-y","@modelcontextprotocol/server-github"],"env":{"GITHUB_TOKEN":"fabric:github"},"perWorkload":true,"idleTimeoutSeconds":120} }""";
        using (var put = await fixture.Admin.SendAsync(Request("PUT", "/v1/servers/" + name, body)))
        {
            Assert.True(put.StatusCode == HttpStatusCode.OK, await put.Content.ReadAsStringAsync());
        }
        var stored = JsonNode.Parse(await fixture.Admin.GetStringAsync("/v1/servers/" + name))!;
        Assert.Equal($"stdio:{name}", (string?)stored["upstream"]);
        Assert.Equal("npx", (string?)stored["launch"]!["command"]);
        Assert.Equal("@modelcontextprotocol/server-github", (string?)stored["launch"]!["args"]![1]);
        Assert.Equal("fabric:github", (string?)stored["launch"]!["env"]!["GITHUB_TOKEN"]);
        Assert.True((bool)stored["launch"]!["perWorkload"]!);
        Assert.Equal(120, (int)stored["launch"]!["idleTimeoutSeconds"]!);
    }

    [Fact]
    public async Task A_declared_value_holding_a_stored_secret_is_refused_without_saying_which_secret()
    {
        var secret = SiloApiFixture.Unique("db-password");
        const string Value = "correct horse battery staple";
        using (var stored = await fixture.Admin.SendAsync(Request("PUT", "/v1/secrets/" + secret, $$"""{"value":"{{Value}}"}""")))
        {
            Assert.True(stored.IsSuccessStatusCode, await stored.Content.ReadAsStringAsync());
        }
        var name = SiloApiFixture.Unique("stdio");
        using var put = await fixture.Admin.SendAsync(Request("PUT", "/v1/servers/" + name,
            $$"""{"identity":"spiffe://fabric.local/mcp/{{name}}","launch":{"command":"/usr/bin/node","env":{"DB_URL":"postgres://app:{{Value}}@db/app"} } }"""));
        var errors = await FieldErrorAsync(put, "launch.env.DB_URL");
        Assert.Contains("stored secret", string.Join(" ", errors), StringComparison.Ordinal);
        Assert.DoesNotContain(secret, await put.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        using var get = await fixture.Admin.GetAsync("/v1/servers/" + name);
        Assert.Equal(HttpStatusCode.NotFound, get.StatusCode);
    }

    [Theory]
    [InlineData("""{"identity":"spiffe://fabric.local/mcp/x","launch":{"command":"node","env":{"OPENAI_API_KEY":"sk-proj-8fJ2kLm9QwErTyUiOp1234567890abcd"}}}""", "launch.env.OPENAI_API_KEY")]
    [InlineData("""{"identity":"spiffe://fabric.local/mcp/x","launch":{"command":"node","env":{"HTTPS_PROXY":"http://evil.example:8080"}}}""", "launch.env.HTTPS_PROXY")]
    [InlineData("""{"identity":"spiffe://fabric.local/mcp/x","launch":{"command":"node","env":{"NODE_TLS_REJECT_UNAUTHORIZED":"0"}}}""", "launch.env.NODE_TLS_REJECT_UNAUTHORIZED")]
    [InlineData("""{"identity":"spiffe://fabric.local/mcp/x","launch":{"command":"node","env":{"A":"1","A":"2"}}}""", "launch.env.A")] // a duplicate key
    [InlineData("""{"launch":{"command":"node"}}""", "identity")]
    [InlineData("""{"identity":"spiffe://fabric.local/mcp/x","upstream":"https://x.example/mcp","launch":{"command":"node"}}""", "upstream")]
    [InlineData("""{"identity":"spiffe://fabric.local/mcp/x","launch":{"command":"../bin/node"}}""", "launch.command")]
    [InlineData("""{"identity":"spiffe://fabric.local/mcp/x","launch":{"command":"node","idleTimeoutSeconds":"60"}}""", "launch.idleTimeoutSeconds")] // a string
    [InlineData("""{"identity":"spiffe://fabric.local/mcp/x","launch":{"command":"node"},"credential":{"source":"local","ref":"k","inject":{"header":"Authorization","format":"Bearer {secret}"}}}""", "credential")]
    public async Task A_bad_launch_spec_is_refused_naming_the_field(string body, string field)
    {
        var name = SiloApiFixture.Unique("bad-stdio");
        using var put = await fixture.Admin.SendAsync(Request("PUT", "/v1/servers/" + name, body));
        Assert.NotEmpty(await FieldErrorAsync(put, field));
    }
}
