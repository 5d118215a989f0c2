using Fabric.Contracts.Servers;
using Fabric.Silo.Grains;
using Fabric.Silo.Secrets;
using Microsoft.Extensions.Options;

namespace Fabric.Silo.Apis;

/// <summary><c>/v1/servers</c>: the MCP servers the edges route to, with their credential bindings.</summary>
internal static class ServersApi
{
    public static void MapServersApi(this RouteGroupBuilder v1)
    {
        var servers = v1.MapGroup("/servers");

        servers.MapPut("/{name}", async (string name, HttpContext context, IGrainFactory grains, SecretSourceRegistry sources, IOptions<ServerOptions> options) =>
        {
            var (body, error) = await ApiBody.ReadAsync<McpServerInput>(context);
            if (error is not null)
            {
                return error;
            }
            var errors = McpServerValidator.Validate(name, body, sources.Names, options.Value.AllowLinkLocal);
            if (errors.Count > 0)
            {
                return TypedResults.ValidationProblem(errors);
            }
            try
            {
                var stored = await grains.Server(name).PutAsync(new Uri(body!.Upstream!), body.Identity, body.Credential?.ToBinding(), body.ReflectionAction);
                return TypedResults.Ok(stored);
            }
            catch (ArgumentException ex)
            {
                // The grain runs the same validator; this is a 400, not a 500, should the two ever disagree.
                return ApiBody.Field("body", ex.Message);
            }
        });

        servers.MapGet("/", async (IGrainFactory grains) =>
        {
            var names = await grains.ServerDirectory().ListAsync();
            var definitions = await Task.WhenAll(names.Select(n => grains.Server(n).GetAsync().AsTask()));
            return TypedResults.Ok(new { servers = definitions.OfType<McpServerDefinition>() });
        });

        servers.MapGet("/{name}", async Task<IResult> (string name, IGrainFactory grains) =>
            McpServerValidator.IsValidName(name) && await grains.Server(name).GetAsync() is { } server
                ? TypedResults.Ok(server)
                : TypedResults.NotFound());

        // The lease state of the server's credential (per workload when the binding says so); never the value.
        servers.MapGet("/{name}/credential", async Task<IResult> (string name, IGrainFactory grains) =>
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
            return TypedResults.Ok(new { source = binding.Source, perWorkload = binding.PerWorkload, leases });
        });

        // Forces a new lease now and revokes the old one (every per-workload lease of the server).
        servers.MapPost("/{name}/credential:rotate", async Task<IResult> (string name, IGrainFactory grains) =>
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
            return TypedResults.Ok(new { source = binding.Source, perWorkload = binding.PerWorkload, leases });
        });

        servers.MapDelete("/{name}", async Task<IResult> (string name, IGrainFactory grains) =>
            McpServerValidator.IsValidName(name) && await grains.Server(name).DeleteAsync()
                ? TypedResults.NoContent()
                : TypedResults.NotFound());
    }
}
