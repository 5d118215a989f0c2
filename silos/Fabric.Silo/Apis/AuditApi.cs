using Fabric.Contracts.Audit;

namespace Fabric.Silo.Apis;

/// <summary><c>GET /v1/audit?workload=&amp;server=&amp;decision=allow|deny&amp;limit=</c>, newest first.</summary>
internal static class AuditApi
{
    public static void MapAuditApi(this RouteGroupBuilder v1)
    {
        v1.MapGet("/audit", async (string? workload, string? server, string? decision, int? limit, IGrainFactory grains) =>
        {
            bool? allowed = decision switch
            {
                null or "" => null,
                "allow" => true,
                "deny" => false,
                _ => (bool?)null,
            };
            if (decision is { Length: > 0 } && decision is not ("allow" or "deny"))
            {
                return ApiBody.Field("decision", "decision must be 'allow' or 'deny'");
            }
            if (limit is < 1 or > 1000)
            {
                return ApiBody.Field("limit", "limit must be between 1 and 1000");
            }
            var records = await grains.Audit().QueryAsync(new AuditQuery(workload, server, allowed, limit ?? 100));
            return TypedResults.Ok(new { records });
        });
    }
}
