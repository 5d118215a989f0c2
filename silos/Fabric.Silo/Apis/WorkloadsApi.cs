using Fabric.Contracts.Identity;

namespace Fabric.Silo.Apis;

/// <summary><c>/v1/workloads/{trustDomain}/{**path}</c>: the enabled flag and decided-call counters of one identity.</summary>
internal static class WorkloadsApi
{
    public sealed record PutWorkloadRequest(bool? Enabled);

    public static void MapWorkloadsApi(this RouteGroupBuilder v1)
    {
        var workloads = v1.MapGroup("/workloads");

        workloads.MapGet("/{trustDomain}/{**path}", async (string trustDomain, string path, IGrainFactory grains) =>
            Parse(trustDomain, path, out var id, out var error)
                ? TypedResults.Ok(await grains.Workload(id.ToString()).GetAsync())
                : error);

        workloads.MapPut("/{trustDomain}/{**path}", async (string trustDomain, string path, HttpContext context, IGrainFactory grains) =>
        {
            if (!Parse(trustDomain, path, out var id, out var error))
            {
                return error;
            }
            var (body, bodyError) = await ApiBody.ReadAsync<PutWorkloadRequest>(context);
            if (bodyError is not null)
            {
                return bodyError;
            }
            if (body!.Enabled is not { } enabled)
            {
                return ApiBody.Field("enabled", "enabled (true or false) is required");
            }
            return TypedResults.Ok(await grains.Workload(id.ToString()).SetEnabledAsync(enabled));
        });
    }

    private static bool Parse(string trustDomain, string path, [NotNullWhen(true)] out SpiffeId? id, out IResult error)
    {
        error = TypedResults.NoContent();
        if (SpiffeId.TryParse($"spiffe://{trustDomain}/{path}", out id, out var message) && id.IsWorkload)
        {
            return true;
        }
        error = ApiBody.Field("spiffeId", message ?? "a workload ID needs a path");
        return false;
    }
}
