using Fabric.Contracts.Identity;
using Fabric.Silo.Bootstrap;
using Fabric.Silo.Grains;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Fabric.Silo.Apis;

/// <summary>
/// Edge node attestation (admin): <c>/v1/join-tokens</c> makes, lists and revokes single-use join tokens;
/// <c>/v1/edges</c> lists the edges and revokes one for good (<c>DELETE</c>: its links are cut before the call
/// returns, its renewals and new tokens refused).
/// </summary>
internal static class EdgesApi
{
    public const int DefaultTokenTtlSeconds = 3600;

    public sealed record JoinTokenBody(string? EdgeName, int? TtlSeconds);

    public sealed record EdgeRevoked(string Name, string SpiffeId, bool Revoked);

    public static void MapEdgesApi(this RouteGroupBuilder v1)
    {
        v1.MapPost("/join-tokens", CreateJoinToken)
            .WithName(nameof(CreateJoinToken))
            .WithSummary("Create a single-use join token for an edge (returned once, with the bootstrap URL and the CA pin)");
        v1.MapGet("/join-tokens", ListJoinTokens)
            .WithName(nameof(ListJoinTokens))
            .WithSummary("List join tokens and their state (never their secrets)");
        v1.MapDelete("/join-tokens/{id}", RevokeJoinToken)
            .WithName(nameof(RevokeJoinToken))
            .WithSummary("Revoke an unused join token");
        v1.MapGet("/edges", ListEdges)
            .WithName(nameof(ListEdges))
            .WithSummary("List the edges that joined, with their SVID expiry and revocation");
        v1.MapDelete("/edges/{name}", RevokeEdge)
            .WithName(nameof(RevokeEdge))
            .WithSummary("Revoke an edge for good: its Orleans links are cut, its renewals and new tokens refused");
    }

    private static async Task<Results<Created<JoinDocument>, ValidationProblem, ProblemHttpResult>> CreateJoinToken(
        HttpContext context, JoinTokenIssuer issuer)
    {
        var (body, invalid, tooLarge) = await ApiBody.ReadAsync<JoinTokenBody>(context);
        if (tooLarge is not null)
        {
            return tooLarge;
        }
        if (invalid is not null)
        {
            return invalid;
        }
        var errors = new Dictionary<string, string[]>();
        if (!FabricNodes.IsValidName(body!.EdgeName))
        {
            errors["edgeName"] = [$"an edge name is required: lower-case letters, digits and '-', at most {FabricNodes.MaxNameLength}, not starting with '-'"];
        }
        var ttl = body.TtlSeconds ?? DefaultTokenTtlSeconds;
        var maxTtl = (int)EdgeRegistryGrain.MaxTokenTtl.TotalSeconds;
        if (ttl is <= 0 || ttl > maxTtl)
        {
            errors["ttlSeconds"] = [$"ttlSeconds must be between 1 and {maxTtl}"];
        }
        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }
        var (status, document) = await issuer.IssueAsync(body.EdgeName, TimeSpan.FromSeconds(ttl));
        if (document is null)
        {
            return ApiBody.Refusal(StatusCodes.Status409Conflict, BootstrapReasons.Of(status), BootstrapReasons.Describe(status));
        }
        return TypedResults.Created($"/v1/join-tokens/{document.TokenId}", document);
    }

    private static async Task<Ok<IReadOnlyList<JoinTokenInfo>>> ListJoinTokens(IGrainFactory grains) =>
        TypedResults.Ok(await grains.Edges().ListTokensAsync());

    private static async Task<Results<NoContent, NotFound>> RevokeJoinToken(string id, IGrainFactory grains) =>
        JoinTokens.IsValidId(id) && await grains.Edges().RevokeTokenAsync(id)
            ? TypedResults.NoContent()
            : TypedResults.NotFound();

    private static async Task<Ok<IReadOnlyList<EdgeInfo>>> ListEdges(IGrainFactory grains) =>
        TypedResults.Ok(await grains.Edges().ListEdgesAsync());

    private static async Task<Results<Ok<EdgeRevoked>, NotFound>> RevokeEdge(
        string name, IGrainFactory grains, Microsoft.Extensions.Options.IOptions<Identity.TrustDomainOptions> trustDomain) =>
        FabricNodes.IsValidName(name) && await grains.Edges().RevokeEdgeAsync(name)
            ? TypedResults.Ok(new EdgeRevoked(name, FabricNodes.Id(trustDomain.Value.TrustDomain, FabricRole.Edge, name).ToString(), true))
            : TypedResults.NotFound();
}
