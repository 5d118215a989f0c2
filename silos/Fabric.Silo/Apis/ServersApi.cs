using Fabric.Contracts.Servers;
using Fabric.Silo.Grains;
using Fabric.Silo.Secrets;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace Fabric.Silo.Apis;

/// <summary><c>/v1/servers</c>: the MCP servers the edges route to, with their credential bindings.</summary>
internal static class ServersApi
{
    /// <summary><c>{ "servers": [...] }</c>.</summary>
    public sealed record ServerList(IReadOnlyList<McpServerDefinition> Servers);

    /// <summary>The lease state of a server's credential: where it comes from, whether per workload, and the leases (never a value).</summary>
    public sealed record CredentialState(string Source, bool PerWorkload, IReadOnlyList<LeaseStatus> Leases);

    public static void MapServersApi(this RouteGroupBuilder v1)
    {
        var servers = v1.MapGroup("/servers");

        servers.MapPut("/{name}", PutServer)
            .WithName(nameof(PutServer))
            .WithSummary("Create or replace an MCP server: its upstream, pinned identity and credential binding");
        servers.MapGet("/", ListServers)
            .WithName(nameof(ListServers))
            .WithSummary("List the MCP servers");
        servers.MapGet("/{name}", GetServer)
            .WithName(nameof(GetServer))
            .WithSummary("Get one MCP server");
        servers.MapGet("/{name}/credential", GetCredential)
            .WithName(nameof(GetCredential))
            .WithSummary("Get the lease state of a server's credential (per workload when bound so); never the value");
        servers.MapPost("/{name}/credential:rotate", RotateCredential)
            .WithName(nameof(RotateCredential))
            .WithSummary("Force new leases of a server's credential now and revoke the old ones");
        servers.MapDelete("/{name}", DeleteServer)
            .WithName(nameof(DeleteServer))
            .WithSummary("Delete an MCP server");
    }

    private static async Task<Results<Ok<McpServerDefinition>, ValidationProblem, ProblemHttpResult>> PutServer(
        string name, HttpContext context, IGrainFactory grains, SecretSourceRegistry sources, IOptions<ServerOptions> options)
    {
        // A launched server's declared values must not hold a stored secret: the store answers which do (it never says what).
        IReadOnlySet<string> holding = new HashSet<string>();
        return await ApiBody.PutAsync<McpServerInput, McpServerDefinition>(context,
            body => McpServerValidator.Validate(name, body, sources.Names, options.Value.AllowLinkLocal, holding.Contains),
            body => grains.Server(name).PutAsync(body.Launch is null ? new Uri(body.Upstream!) : null, body.Identity, body.Credential?.ToBinding(),
                body.ReflectionAction, body.AgentJwtAudience, body.Launch?.ToSpec(), body.ToolLockMode).AsTask(),
            async body => holding = body.Launch is { } launch
                ? (await grains.LocalSecrets().FindHoldingSecretAsync([.. (IEnumerable<string>?)launch.Env?.Values ?? [], .. launch.Args ?? []])).ToHashSet(StringComparer.Ordinal)
                : holding);
    }

    private static async Task<Ok<ServerList>> ListServers(IGrainFactory grains)
    {
        var names = await grains.ServerDirectory().ListAsync();
        var definitions = await Task.WhenAll(names.Select(n => grains.Server(n).GetAsync().AsTask()));
        return TypedResults.Ok(new ServerList([.. definitions.OfType<McpServerDefinition>()]));
    }

    private static async Task<Results<Ok<McpServerDefinition>, NotFound>> GetServer(string name, IGrainFactory grains) =>
        McpServerValidator.IsValidName(name) && await grains.Server(name).GetAsync() is { } server
            ? TypedResults.Ok(server)
            : TypedResults.NotFound();

    private static async Task<Results<Ok<CredentialState>, NotFound, ValidationProblem>> GetCredential(string name, IGrainFactory grains)
    {
        if (!McpServerValidator.IsValidName(name) || await grains.Server(name).GetAsync() is not { } server)
        {
            return TypedResults.NotFound();
        }
        if (server.Credential is not { } binding)
        {
            return ApiBody.Field("credential", $"server '{name}' has no credential binding");
        }
        var keys = binding.PerWorkload ? await grains.Leases().ListForServerAsync(name) : [name];
        var leases = await Task.WhenAll(keys.Where(k => binding.PerWorkload ? k != name : true)
            .Select(k => grains.Lease(k).GetStatusAsync().AsTask()));
        return TypedResults.Ok(new CredentialState(binding.Source, binding.PerWorkload, leases));
    }

    private static async Task<Results<Ok<CredentialState>, NotFound, ValidationProblem>> RotateCredential(string name, IGrainFactory grains)
    {
        if (!McpServerValidator.IsValidName(name) || await grains.Server(name).GetAsync() is not { } server)
        {
            return TypedResults.NotFound();
        }
        if (server.Credential is not { } binding)
        {
            return ApiBody.Field("credential", $"server '{name}' has no credential binding");
        }
        var keys = binding.PerWorkload ? (await grains.Leases().ListForServerAsync(name)).Where(k => k != name).ToList() : [name];
        var leases = await Task.WhenAll(keys.Select(k => grains.Lease(k).RotateAsync().AsTask()));
        return TypedResults.Ok(new CredentialState(binding.Source, binding.PerWorkload, leases));
    }

    private static async Task<Results<NoContent, NotFound>> DeleteServer(string name, IGrainFactory grains) =>
        McpServerValidator.IsValidName(name) && await grains.Server(name).DeleteAsync()
            ? await ApprovalsReconciledAsync(grains, name)
            : TypedResults.NotFound();

    /// <summary>A deleted server's open approval requests end with it (issue 12 §5).</summary>
    private static async Task<NoContent> ApprovalsReconciledAsync(IGrainFactory grains, string name)
    {
        await grains.Approvals().ReconcileAsync(null, name);
        return TypedResults.NoContent();
    }
}
