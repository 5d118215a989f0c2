using System.Text.Json;
using Fabric.Contracts.Identity;
using Fabric.Contracts.Servers;

namespace Fabric.Contracts.Tests.Identity;

public class SpiffeIdJsonConverterTests
{
    private static readonly JsonSerializerOptions Web = new(JsonSerializerDefaults.Web);

    [Fact]
    public void A_spiffe_id_is_its_uri_string_on_the_wire()
    {
        var id = SpiffeId.Parse("spiffe://example.org/mcp/tools");
        Assert.Equal("\"spiffe://example.org/mcp/tools\"", JsonSerializer.Serialize(id));
        Assert.Equal(id, JsonSerializer.Deserialize<SpiffeId>("\"spiffe://example.org/mcp/tools\""));
    }

    [Theory]
    [InlineData("\"https://example.org/x\"")]
    [InlineData("\"spiffe://Example.org/x\"")]
    [InlineData("\"spiffe://example.org/a//b\"")]
    [InlineData("42")]
    [InlineData("{\"trustDomain\":\"example.org\",\"path\":\"/x\"}")]
    public void Anything_but_a_valid_id_string_is_a_json_error(string json) =>
        Assert.Throws<JsonException>(() => JsonSerializer.Deserialize<SpiffeId>(json));

    [Fact]
    public void A_server_definition_shows_its_pinned_identity_as_a_string()
    {
        var definition = new McpServerDefinition("tools", new Uri("https://tools.example/mcp"), SpiffeId.Parse("spiffe://example.org/mcp/tools"), null, 1, DateTimeOffset.UnixEpoch);
        using var json = JsonDocument.Parse(JsonSerializer.Serialize(definition, Web));
        Assert.Equal("spiffe://example.org/mcp/tools", json.RootElement.GetProperty("identity").GetString());
    }
}
