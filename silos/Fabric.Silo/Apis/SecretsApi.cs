using Fabric.Contracts.Servers;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Fabric.Silo.Apis;

/// <summary><c>/v1/secrets</c>: write-only values; reads return names and times, never a value.</summary>
internal static class SecretsApi
{
    public sealed record PutSecretRequest(string? Value);

    /// <summary><c>{ "secrets": [...] }</c>: names, times and revisions only.</summary>
    public sealed record SecretList(IReadOnlyList<SecretInfo> Secrets);

    public static void MapSecretsApi(this RouteGroupBuilder v1)
    {
        var secrets = v1.MapGroup("/secrets");

        secrets.MapPut("/{name}", PutSecret)
            .WithName(nameof(PutSecret))
            .WithSummary("Create or replace a local secret's value (write-only)");
        secrets.MapGet("/", ListSecrets)
            .WithName(nameof(ListSecrets))
            .WithSummary("List the local secrets: names and times, never values");
        secrets.MapDelete("/{name}", DeleteSecret)
            .WithName(nameof(DeleteSecret))
            .WithSummary("Delete a local secret");
    }

    private static async Task<Results<NoContent, ValidationProblem, ProblemHttpResult>> PutSecret(
        string name, HttpContext context, IGrainFactory grains)
    {
        if (!McpServerValidator.IsValidSecretName(name))
        {
            return ApiBody.Field("name", "a secret name is 1-128 characters of [A-Za-z0-9._-]");
        }
        var (body, invalid, tooLarge) = await ApiBody.ReadAsync<PutSecretRequest>(context);
        if (tooLarge is not null)
        {
            return tooLarge;
        }
        if (invalid is not null)
        {
            return invalid;
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
    }

    private static async Task<Ok<SecretList>> ListSecrets(IGrainFactory grains) =>
        TypedResults.Ok(new SecretList(await grains.LocalSecrets().ListAsync()));

    private static async Task<Results<NoContent, NotFound>> DeleteSecret(string name, IGrainFactory grains) =>
        await grains.LocalSecrets().DeleteAsync(name) ? TypedResults.NoContent() : TypedResults.NotFound();
}
