using Fabric.Contracts.Identity;
using Fabric.Contracts.Policy;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Fabric.Silo.Apis;

/// <summary><c>POST /v1/decisions</c>: what-if / explain. Decides exactly as the edge does, with no side effects.</summary>
internal static class DecisionsApi
{
    public sealed record DecisionRequest(string? Workload, string? Server, string? Method, string? Name, IReadOnlyDictionary<string, System.Text.Json.JsonElement>? Arguments);

    public static void MapDecisionsApi(this RouteGroupBuilder v1)
    {
        v1.MapPost("/decisions", ExplainDecision)
            .WithName(nameof(ExplainDecision))
            .WithSummary("Decide a call exactly as the edge would (what-if / explain), with no side effects");
    }

    private static async Task<Results<Ok<Decision>, ValidationProblem, ProblemHttpResult>> ExplainDecision(HttpContext context, IGrainFactory grains)
    {
        var (body, invalid, tooLarge) = await ApiBody.ReadAsync<DecisionRequest>(context);
        if (tooLarge is not null)
        {
            return tooLarge;
        }
        if (invalid is not null)
        {
            return invalid;
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
    }
}
