using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using static Fabric.Silo.Tests.Apis.ApiRequests;

namespace Fabric.Silo.Tests.Apis;

/// <summary>
/// Issue 9 §8: an upstream's host is what every parser agrees on. IP literals must be written in
/// canonical form (what <c>System.Uri</c> and the edge's resolver would print), so the stored
/// definition is the address connected to; link-local (RFC 3927, RFC 4291 §2.5.6) and unspecified
/// addresses are refused unless <c>Fabric:Servers:AllowLinkLocal</c> (off in this fixture).
/// </summary>
[Collection(SiloApiCollection.Name)]
public sealed class UpstreamAddressTests(SiloApiFixture fixture)
{
    [Theory]
    [InlineData("http://0x7f000001/mcp")]
    [InlineData("http://2130706433/mcp")]
    [InlineData("http://127.1/mcp")]
    [InlineData("http://0177.0.0.1/mcp")]
    [InlineData("http://127.000.000.001/mcp")]
    [InlineData("http://[0:0:0:0:0:0:0:1]/mcp")]
    [InlineData("http://[::0001]:8080/mcp")]
    [InlineData("https://0x0a000005/mcp")]
    [InlineData("https://[2001:db8:0:0:0:0:0:1]/mcp")]
    public async Task A_non_canonical_ip_literal_is_refused_and_nothing_is_stored(string upstream)
    {
        var name = SiloApiFixture.Unique("noncanon");

        using (var put = await PutAsync(name, upstream))
        {
            var messages = await FieldErrorAsync(put, "upstream");
            Assert.Contains(messages, m => m.Contains("canonical", StringComparison.Ordinal));
        }
        using var get = await fixture.Admin.GetAsync("/v1/servers/" + name);
        Assert.Equal(HttpStatusCode.NotFound, get.StatusCode);
    }

    [Theory]
    [InlineData("http://127.0.0.1/mcp")]
    [InlineData("http://[::1]:8080/mcp")]
    [InlineData("https://10.0.0.5/mcp")]
    [InlineData("https://[2001:db8::1]/mcp")]
    [InlineData("https://169.253.255.255/mcp")]
    [InlineData("https://[fec0::1]/mcp")] // site-local (deprecated), outside fe80::/10
    public async Task A_canonical_ip_literal_is_stored_as_written(string upstream)
    {
        var name = SiloApiFixture.Unique("canon");

        using (var put = await PutAsync(name, upstream))
        {
            Assert.True(put.StatusCode == HttpStatusCode.OK, await put.Content.ReadAsStringAsync());
        }
        var stored = JsonNode.Parse(await fixture.Admin.GetStringAsync("/v1/servers/" + name))!;
        Assert.Equal(upstream, (string?)stored["upstream"]);
    }

    [Theory]
    [InlineData("https://169.254.169.254/latest/meta-data")]
    [InlineData("https://169.254.0.1/mcp")]
    [InlineData("https://169.254.255.255:8443/mcp")]
    [InlineData("https://[fe80::1]/mcp")]
    [InlineData("https://[febf:ffff::1]/mcp")]
    [InlineData("https://[::ffff:169.254.169.254]/mcp")]
    [InlineData("https://0.0.0.0/mcp")]
    [InlineData("https://0.1.2.3/mcp")]
    [InlineData("https://[::]/mcp")]
    [InlineData("https://[::ffff:0.0.0.0]/mcp")]
    [InlineData("http://0.0.0.0/mcp")]
    [InlineData("https://0/mcp")]
    [InlineData("https://0xa9fea9fe/mcp")]
    [InlineData("https://[0:0:0:0:0:ffff:a9fe:a9fe]/mcp")]
    public async Task Link_local_and_unspecified_upstreams_are_refused_in_any_spelling(string upstream)
    {
        var name = SiloApiFixture.Unique("linklocal");

        using (var put = await PutAsync(name, upstream))
        {
            await FieldErrorAsync(put, "upstream");
        }
        using var get = await fixture.Admin.GetAsync("/v1/servers/" + name);
        Assert.Equal(HttpStatusCode.NotFound, get.StatusCode);
    }

    private Task<HttpResponseMessage> PutAsync(string name, string upstream) =>
        fixture.Admin.SendAsync(Request("PUT", "/v1/servers/" + name, JsonSerializer.Serialize(new { upstream })));
}
