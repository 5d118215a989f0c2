using System.Globalization;
using Fabric.Contracts.Audit;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Fabric.Silo.Apis;

/// <summary>
/// <c>GET /v1/audit?workload=&amp;server=&amp;decision=allow|deny&amp;parent=&amp;limit=&amp;cursor=</c>, newest first;
/// <c>nextCursor</c> in the answer fetches the next (older) page. <c>parent=&lt;record id&gt;</c> lists the egress calls
/// one agent call caused (their <c>parentRecordId</c>); a <c>workload=</c> query nests them under <c>children</c>.
/// </summary>
internal static class AuditApi
{
    /// <summary>A page; <c>children</c> (for a workload's query) maps each record id of the page to the egress calls it caused.</summary>
    public sealed record AuditRecordPage(IReadOnlyList<AuditRecord> Records, string? NextCursor,
        [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
        IReadOnlyDictionary<Guid, IReadOnlyList<AuditRecord>>? Children = null);

    public static void MapAuditApi(this RouteGroupBuilder v1)
    {
        v1.MapGet("/audit/verify", VerifyAudit)
            .WithName(nameof(VerifyAudit))
            .WithSummary("Walk one edge's audit chain (hashes, links, signed checkpoints) and report the first break");
        v1.MapGet("/audit", QueryAudit)
            .WithName(nameof(QueryAudit))
            .WithSummary("Query the audit trail, newest first, by workload, server and decision, a page at a time");
    }

    /// <summary>
    /// The edge's records the log still holds, oldest first, checked link by link: each hashes to its hash, names its
    /// predecessor's hash, follows it without a gap; each checkpoint is signed by an SVID of that very edge that
    /// validated under the trust bundle at the record's time.
    /// </summary>
    private static async Task<Results<Ok<AuditChain.Report>, ValidationProblem>> VerifyAudit(string? edge, IGrainFactory grains,
        Microsoft.Extensions.Options.IOptions<Fabric.Silo.Identity.TrustDomainOptions> trust)
    {
        if (!Fabric.Contracts.Identity.FabricNodes.IsValidName(edge))
        {
            return ApiBody.Field("edge", "edge is the name of an edge (as in GET /v1/edges)");
        }
        var records = new List<AuditRecord>();
        string? cursor = null;
        do
        {
            var page = await grains.Audit().QueryAsync(new AuditQuery(null, null, null, 1000, cursor, Edge: edge));
            records.AddRange(page.Records);
            cursor = page.NextCursor;
        }
        while (cursor is not null);
        var trustDomain = trust.Value.TrustDomain;
        var bundles = Fabric.Contracts.Identity.TrustBundleSet.FromPem(trustDomain, (await grains.Authority(trustDomain).GetBundleAsync()).Pem);
        return TypedResults.Ok(AuditChain.Verify(edge!, records, (record, certificate) =>
            Fabric.Contracts.Identity.X509SvidValidator.Validate(certificate, null, bundles, record.Time) is { IsValid: true, Id: { } id }
            && Fabric.Contracts.Identity.FabricNodes.TryGetName(id, trustDomain, Fabric.Contracts.Identity.FabricRole.Edge, out var name)
            && name == edge));
    }

    // limit is bound as a string: a non-number must be a 400 naming the field, not a binder failure without one.
    private static async Task<Results<Ok<AuditRecordPage>, ValidationProblem>> QueryAudit(
        string? workload, string? server, string? decision, string? limit, string? cursor, string? parent, IGrainFactory grains)
    {
        Guid? parentId = null;
        if (parent is { Length: > 0 })
        {
            if (!Guid.TryParseExact(parent, "D", out var parsed))
            {
                return ApiBody.Field("parent", "parent must be an audit record id");
            }
            parentId = parsed;
        }
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
        var count = 100;
        if (limit is { Length: > 0 }
            && (!int.TryParse(limit, NumberStyles.None, CultureInfo.InvariantCulture, out count) || count is < 1 or > 1000))
        {
            return ApiBody.Field("limit", "limit must be a whole number between 1 and 1000");
        }
        if (cursor is { Length: > 64 } || (cursor is { Length: > 0 } && !cursor.All(c => char.IsAsciiDigit(c) || c == '-')))
        {
            return ApiBody.Field("cursor", "cursor must be a value returned as nextCursor");
        }
        // A workload's own records come with the egress calls each of them caused (their children).
        var page = await grains.Audit().QueryAsync(new AuditQuery(workload, server, allowed, count, cursor, parentId, WithChildren: workload is not null && parentId is null));
        return TypedResults.Ok(new AuditRecordPage(page.Records, page.NextCursor, page.Children));
    }
}
