using Fabric.Contracts.Identity;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Fabric.Silo.Apis;

/// <summary>
/// <c>/v1/workloads/{trustDomain}/{**path}</c>: the enabled flag and decided-call counters of one identity; <c>GET
/// /v1/workloads</c> lists the identities the fabric knows of: named exactly as a policy subject, or seen in the newest
/// <see cref="ListAuditRecords"/> audit records (a workload that only a glob names and that never called is not listed).
/// </summary>
internal static class WorkloadsApi
{
    public sealed record PutWorkloadRequest(bool? Enabled);

    public const int ListAuditRecords = 10_000;
    public const int MaxListed = 1_000;

    public static void MapWorkloadsApi(this RouteGroupBuilder v1)
    {
        var workloads = v1.MapGroup("/workloads");

        workloads.MapGet("/", ListWorkloads)
            .WithName(nameof(ListWorkloads))
            .WithSummary("List the workload identities named by policies or seen in the recent audit, most recently seen first");
        workloads.MapGet("/{trustDomain}/{**path}", GetWorkload)
            .WithName(nameof(GetWorkload))
            .WithSummary("Get a workload identity's enabled flag and decided-call counters");
        workloads.MapPut("/{trustDomain}/{**path}", PutWorkload)
            .WithName(nameof(PutWorkload))
            .WithSummary("Enable or disable a workload identity");
    }

    private static async Task<Ok<IReadOnlyList<WorkloadStatus>>> ListWorkloads(IGrainFactory grains)
    {
        var ids = new HashSet<string>(StringComparer.Ordinal);
        foreach (var policy in await grains.Catalog().ListAsync())
        {
            ids.UnionWith(policy.Policy.Subjects.Where(IsWorkloadId));
        }
        // An egress record's workload is an MCP server's identity: a workload too. A refusal before any identity has none.
        ids.UnionWith((await AuditReading.LatestAsync(grains, ListAuditRecords)).Select(r => r.Workload).Where(IsWorkloadId));
        var statuses = await Task.WhenAll(ids.Take(MaxListed * 2).Select(id => grains.Workload(id).GetAsync().AsTask()));
        IReadOnlyList<WorkloadStatus> listed = [.. statuses
            .OrderByDescending(s => s.LastSeen ?? DateTimeOffset.MinValue)
            .ThenBy(s => s.SpiffeId, StringComparer.Ordinal)
            .Take(MaxListed)];
        return TypedResults.Ok(listed);
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

    private static bool IsWorkloadId(string? value) =>
        value is not null && !value.Contains('*', StringComparison.Ordinal) && SpiffeId.TryParse(value, out var id, out _) && id.IsWorkload;

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
