using Fabric.Contracts.Identity;
using Fabric.Contracts.Policy;

namespace Fabric.Silo.Apis;

/// <summary><c>POST /v1/decisions</c>: what-if / explain. Decides exactly as the edge does, with no side effects.</summary>
internal static class DecisionsApi
{
    public sealed record DecisionRequest(string? Workload, string? Server, string? Method, string? Name, IReadOnlyDictionary<string, System.Text.Json.JsonElement>? Arguments);

    public static void MapDecisionsApi(this RouteGroupBuilder v1)
    {
        v1.MapPost("/decisions", async (HttpContext context, IGrainFactory grains) =>
        {
            var (body, error) = await ApiBody.ReadAsync<DecisionRequest>(context);
            if (error is not null)
            {
                return error;
            }
            var errors = new Dictionary<string, string[]>();
            if (!SpiffeId.TryParse(body!.Workload, out var workload, out var idError))
            {
                errors["workload"] = [idError];
            }
            if (string.IsNullOrEmpty(body.Server))
            {
                errors["server"] = ["server is required"];
            }
            if (string.IsNullOrEmpty(body.Method))
            {
                errors["method"] = ["method is required"];
            }
            if (errors.Count > 0)
            {
                return TypedResults.ValidationProblem(errors);
            }
            // Arguments are rendered exactly as the edge renders them: strings as-is, other JSON as raw text.
            var arguments = body.Arguments?.ToDictionary(
                a => a.Key,
                a => a.Value.ValueKind == System.Text.Json.JsonValueKind.String ? a.Value.GetString()! : a.Value.GetRawText(),
                StringComparer.Ordinal);
            var decision = await grains.Workload(workload!.ToString()).DecideAsync(body.Server!, new McpCall(body.Method!, body.Name, arguments));
            return TypedResults.Ok(decision);
        });
    }
}
