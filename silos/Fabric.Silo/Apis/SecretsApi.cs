using Fabric.Contracts.Servers;

namespace Fabric.Silo.Apis;

/// <summary><c>/v1/secrets</c>: write-only values; reads return names and times, never a value.</summary>
internal static class SecretsApi
{
    public sealed record PutSecretRequest(string? Value);

    public static void MapSecretsApi(this RouteGroupBuilder v1)
    {
        var secrets = v1.MapGroup("/secrets");

        secrets.MapPut("/{name}", async (string name, HttpContext context, IGrainFactory grains) =>
        {
            if (!McpServerValidator.IsValidSecretName(name))
            {
                return ApiBody.Field("name", "a secret name is 1-128 characters of [A-Za-z0-9._-]");
            }
            var (body, error) = await ApiBody.ReadAsync<PutSecretRequest>(context);
            if (error is not null)
            {
                return error;
            }
            if (string.IsNullOrEmpty(body!.Value))
            {
                return ApiBody.Field("value", "a non-empty value is required");
            }
            if (body.Value.Length > 64 * 1024 || body.Value.Any(c => c is '\r' or '\n' or '\0'))
            {
                // The value is spliced into an HTTP header: CR/LF/NUL would split or break it.
                return ApiBody.Field("value", "the value must be at most 65536 characters, without CR, LF or NUL");
            }
            await grains.LocalSecrets().PutAsync(name, body.Value);
            return TypedResults.NoContent();
        });

        secrets.MapGet("/", async (IGrainFactory grains) =>
            TypedResults.Ok(new { secrets = await grains.LocalSecrets().ListAsync() }));

        secrets.MapDelete("/{name}", async Task<IResult> (string name, IGrainFactory grains) =>
            await grains.LocalSecrets().DeleteAsync(name) ? TypedResults.NoContent() : TypedResults.NotFound());
    }
}
