using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;

namespace Fabric.Edge.Tests.Links;

/// <summary>What a test sends to federate one fabric with another: <c>PUT /v1/federation/{td}</c> in the https_spiffe profile.</summary>
internal static class FederationRequests
{
    /// <summary>The SPIFFE bundle endpoint of a silo host (its bootstrap listener, served with the silo's SVID).</summary>
    public static string BundleEndpoint(IServiceProvider silo) =>
        silo.GetRequiredService<Fabric.Silo.Bootstrap.JoinTokenIssuer>().BootstrapUrl + "/.well-known/spiffe-bundle";

    /// <summary>
    /// Federates <paramref name="consumer"/> with <paramref name="trustDomain"/> at <paramref name="bundleEndpointUrl"/>,
    /// whose endpoint presents <paramref name="endpointSpiffeId"/>, bootstrapped with <paramref name="publisher"/>'s bundle; the status it answered.
    /// </summary>
    public static async Task<JsonElement> FederateAsync(HttpClient consumer, string trustDomain, string bundleEndpointUrl, string endpointSpiffeId, HttpClient publisher)
    {
        using var response = await consumer.PutAsJsonAsync($"/v1/federation/{trustDomain}", new
        {
            bundleEndpointUrl,
            profile = "https_spiffe",
            endpointSpiffeId,
            bootstrapBundle = await publisher.GetStringAsync("/v1/bundle"),
        });
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, body);
        return JsonDocument.Parse(body).RootElement.Clone();
    }
}
