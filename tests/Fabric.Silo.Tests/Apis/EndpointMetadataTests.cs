using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Fabric.Silo.Tests.Apis;

/// <summary>
/// What an OpenAPI document will be generated from: every <c>/v1</c> endpoint of the real silo host
/// is named (unique) and summarised, and every one but the public trust bundle requires the admin policy.
/// </summary>
[Collection(SiloApiCollection.Name)]
public sealed class EndpointMetadataTests(SiloApiFixture fixture)
{
    private static readonly string[] ExpectedNames =
    [
        "PutSecret", "ListSecrets", "DeleteSecret",
        "PutServer", "ListServers", "GetServer", "GetCredential", "RotateCredential", "DeleteServer", "GetToolLock", "ApproveTools", "AttestAnnotations", "RemoveAttestation",
        "ListApprovals", "GetApproval", "ApproveCall", "DenyCall",
        "PutPolicy", "ListPolicies", "GetPolicy", "DeletePolicy", "ReplayPolicies",
        "PutEgressTarget", "ListEgressTargets", "GetEgressTarget", "DeleteEgressTarget",
        "ListWorkloads", "GetWorkload", "PutWorkload", "GetStatus",
        "MintSvid", "MintJwtSvid", "CreateJoinToken", "ListJoinTokens", "RevokeJoinToken", "ListEdges", "RevokeEdge", "GetCaStatus", "RotateCa", "PutFederation", "ListFederation", "DeleteFederation", "ExplainDecision", "GetPosture", "QueryAudit", "VerifyAudit", "GetTrustBundle",
    ];

    [Fact]
    public void Every_v1_endpoint_has_a_unique_name_and_a_summary()
    {
        var endpoints = fixture.Services.GetRequiredService<EndpointDataSource>().Endpoints
            .OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText?.StartsWith("/v1/", StringComparison.Ordinal) == true)
            .ToList();

        Assert.All(endpoints, e =>
        {
            var where = $"{string.Join(",", e.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods ?? [])} {e.RoutePattern.RawText}";
            Assert.False(string.IsNullOrWhiteSpace(e.Metadata.GetMetadata<IEndpointNameMetadata>()?.EndpointName), $"{where} has no name");
            Assert.False(string.IsNullOrWhiteSpace(e.Metadata.GetMetadata<IEndpointSummaryMetadata>()?.Summary), $"{where} has no summary");
        });
        var names = endpoints.Select(e => e.Metadata.GetMetadata<IEndpointNameMetadata>()!.EndpointName).ToList();
        Assert.Equal(names.Count, names.Distinct(StringComparer.Ordinal).Count());
        Assert.Equal(ExpectedNames.Order(StringComparer.Ordinal), names.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Every_v1_endpoint_but_the_trust_bundle_requires_the_admin_policy()
    {
        var endpoints = fixture.Services.GetRequiredService<EndpointDataSource>().Endpoints
            .OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText?.StartsWith("/v1/", StringComparison.Ordinal) == true);

        Assert.All(endpoints, e =>
        {
            var name = e.Metadata.GetMetadata<IEndpointNameMetadata>()?.EndpointName;
            var policies = e.Metadata.GetOrderedMetadata<IAuthorizeData>().Select(a => a.Policy);
            if (name == "GetTrustBundle")
            {
                Assert.Empty(policies);
            }
            else
            {
                Assert.Contains(Fabric.Silo.Apis.FabricApi.AdminPolicy, policies);
            }
        });
    }
}
