using System.Net;
using System.Text.Json;

namespace Fabric.Silo.Tests.Apis;

/// <summary><c>GET /v1/approvals?state=</c> and <c>/v1/approvals/{id}</c> refuse what is not exactly one state or one id.</summary>
[Collection(SiloApiCollection.Name)]
public sealed class ApprovalsApiTests(SiloApiFixture fixture)
{
    [Theory]
    [InlineData("bogus")]
    [InlineData("1")] // a number Enum.TryParse would take
    [InlineData("pending,approved")] // a comma list Enum.TryParse would OR into "approved"
    [InlineData("pending, approved")]
    [InlineData(" pending")]
    [InlineData("pending%00")]
    [InlineData("pend%C3%AFng")]
    public async Task A_state_that_is_not_exactly_one_state_is_a_field_error(string state)
    {
        using var response = await fixture.Admin.GetAsync("/v1/approvals?state=" + state);
        var errors = await ApiRequests.FieldErrorAsync(response, "state");
        Assert.Contains(errors, e => e.Contains("pending", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("pending")]
    [InlineData("PENDING")]
    [InlineData("Expired")]
    [InlineData("")]
    public async Task A_state_by_its_name_in_any_casing_or_none_lists(string state)
    {
        using var response = await fixture.Admin.GetAsync("/v1/approvals?state=" + state);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(JsonValueKind.Array, json.RootElement.GetProperty("approvals").ValueKind);
    }

    [Theory]
    [InlineData("..%2F..%2Fpolicies")]
    [InlineData("not-an-id")]
    public async Task An_id_that_is_not_one_is_not_found(string id)
    {
        using var response = await fixture.Admin.GetAsync("/v1/approvals/" + id);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task Approvals_want_the_admin_token()
    {
        using var response = await fixture.Anonymous.GetAsync("/v1/approvals");
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }
}
