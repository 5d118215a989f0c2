using Fabric.Contracts.Audit;
using Fabric.Contracts.Grains;

namespace Fabric.Silo.Apis;

/// <summary>Reading the newest audit records a page at a time, for the reports that look back over them.</summary>
internal static class AuditReading
{
    /// <summary>
    /// The newest <paramref name="limit"/> records that <paramref name="keep"/> accepts (all when null), newest first.
    /// With a filter each page asks for a little more than is missing, since some of it will be left out.
    /// </summary>
    public static async Task<List<AuditRecord>> LatestAsync(IGrainFactory grains, int limit, Func<AuditRecord, bool>? keep = null)
    {
        var records = new List<AuditRecord>(Math.Min(limit, 1000));
        string? cursor = null;
        do
        {
            var ask = Math.Min(1000, limit - records.Count + (keep is null ? 0 : 100));
            var page = await grains.Audit().QueryAsync(new AuditQuery(null, null, null, ask, cursor));
            records.AddRange((keep is null ? page.Records : page.Records.Where(keep)).Take(limit - records.Count));
            cursor = page.NextCursor;
        }
        while (cursor is not null && records.Count < limit);
        return records;
    }
}
