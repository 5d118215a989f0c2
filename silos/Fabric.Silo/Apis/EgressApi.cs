using Fabric.Contracts.Servers;
using Fabric.Silo.Grains;
using Fabric.Silo.Secrets;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace Fabric.Silo.Apis;

/// <summary><c>/v1/egress</c>: the destinations MCP servers may call through the edge, with the credentials spliced there.</summary>
internal static class EgressApi
{
    /// <summary><c>{ "targets": [...] }</c>.</summary>
    public sealed record EgressTargetList(IReadOnlyList<EgressTargetDefinition> Targets);

    public static void MapEgressApi(this RouteGroupBuilder v1)
    {
        var egress = v1.MapGroup("/egress");
        egress.MapPut("/{name}", PutEgressTarget)
            .WithName(nameof(PutEgressTarget))
            .WithSummary("Create or replace an egress target: its https upstream, credential binding and TLS roots");
        egress.MapGet("/", ListEgressTargets)
            .WithName(nameof(ListEgressTargets))
            .WithSummary("List the egress targets");
        egress.MapGet("/{name}", GetEgressTarget)
            .WithName(nameof(GetEgressTarget))
            .WithSummary("Get one egress target");
        egress.MapDelete("/{name}", DeleteEgressTarget)
            .WithName(nameof(DeleteEgressTarget))
            .WithSummary("Delete an egress target");
    }

    private static Task<Results<Ok<EgressTargetDefinition>, ValidationProblem, ProblemHttpResult>> PutEgressTarget(
        string name, HttpContext context, IGrainFactory grains, SecretSourceRegistry sources, IOptions<ServerOptions> options) =>
        ApiBody.PutAsync<EgressTargetInput, EgressTargetDefinition>(context,
            body => McpServerValidator.ValidateEgressTarget(name, body, sources.Names, options.Value.AllowLinkLocal),
            body => grains.EgressTarget(name).PutAsync(new Uri(body.Upstream!), body.Credential?.ToBinding(), body.Tls?.CaFile).AsTask());

    private static async Task<Ok<EgressTargetList>> ListEgressTargets(IGrainFactory grains)
    {
        var names = await grains.EgressDirectory().ListAsync();
        var targets = await Task.WhenAll(names.Select(n => grains.EgressTarget(n).GetAsync().AsTask()));
        return TypedResults.Ok(new EgressTargetList([.. targets.OfType<EgressTargetDefinition>()]));
    }

    private static async Task<Results<Ok<EgressTargetDefinition>, NotFound>> GetEgressTarget(string name, IGrainFactory grains) =>
        McpServerValidator.IsValidName(name) && await grains.EgressTarget(name).GetAsync() is { } target
            ? TypedResults.Ok(target)
            : TypedResults.NotFound();

    private static async Task<Results<NoContent, NotFound>> DeleteEgressTarget(string name, IGrainFactory grains) =>
        McpServerValidator.IsValidName(name) && await grains.EgressTarget(name).DeleteAsync()
            ? TypedResults.NoContent()
            : TypedResults.NotFound();
}
