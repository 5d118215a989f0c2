using Fabric.Contracts.Identity;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Fabric.Silo.Apis;

/// <summary><c>/v1/workloads/{trustDomain}/{**path}</c>: the enabled flag and decided-call counters of one identity.</summary>
internal static class WorkloadsApi
{
    public sealed record PutWorkloadRequest(bool? Enabled);

    public static void MapWorkloadsApi(this RouteGroupBuilder v1)
    {
        var workloads = v1.MapGroup("/workloads");

        workloads.MapGet("/{trustDomain}/{**path}", GetWorkload)
            .WithName(nameof(GetWorkload))
            .WithSummary("Get a workload identity's enabled flag and decided-call counters");
        workloads.MapPut("/{trustDomain}/{**path}", PutWorkload)
            .WithName(nameof(PutWorkload))
            .WithSummary("Enable or disable a workload identity");
    }

    private static async Task<Results<Ok<WorkloadStatus>, ValidationProblem>> GetWorkload(string trustDomain, string path, IGrainFactory grains) =>
        Parse(trustDomain, path, out var id, out var error)
            ? TypedResults.Ok(await grains.Workload(id.ToString()).GetAsync())
            : error;

    private static async Task<Results<Ok<WorkloadStatus>, ValidationProblem, ProblemHttpResult>> PutWorkload(
        string trustDomain, string path, HttpContext context, IGrainFactory grains)
    {
        if (!Parse(trustDomain, path, out var id, out var error))
        {
            return error;
        }
        var (body, invalid, tooLarge) = await ApiBody.ReadAsync<PutWorkloadRequest>(context);
        if (tooLarge is not null)
        {
            return tooLarge;
        }
        if (invalid is not null)
        {
            return invalid;
        }
        if (body!.Enabled is not { } enabled)
        {
            return ApiBody.Field("enabled", "enabled (true or false) is required");
        }
        var updated = await grains.Workload(id.ToString()).SetEnabledAsync(enabled);
        if (!enabled)
        {
            // Revocation reaches what waits too (issue 12 §5): a disabled identity's open approval requests end.
            await grains.Approvals().ReconcileAsync(id.ToString(), null);
        }
        return TypedResults.Ok(updated);
    }

    private static bool Parse(string trustDomain, string path, [NotNullWhen(true)] out SpiffeId? id, [NotNullWhen(false)] out ValidationProblem? error)
    {
        error = null;
        if (SpiffeId.TryParse($"spiffe://{trustDomain}/{path}", out id, out var message) && id.IsWorkload)
        {
            return true;
        }
        error = ApiBody.Field("spiffeId", message ?? "a workload ID needs a path");
        return false;
    }
}
