using System.Text.Json;
using Fabric.Contracts.Audit;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Fabric.Silo.Audit;

/// <summary>
/// The durable audit log: a Redis Stream (append-only, <c>XADD … MAXLEN ~ capacity</c>), one entry
/// per record. Each append is a script that first claims the record id
/// (<c>SET fabric:audit:id:&lt;id&gt; NX EX window</c>) and only then adds the entry, so a replayed
/// record is not written twice. Queries page backwards with <c>XREVRANGE</c>; the cursor is a stream id.
/// </summary>
public sealed class RedisAuditStore(IConnectionMultiplexer redis, IOptions<AuditOptions> options) : IAuditStore
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    // KEYS[1] stream, KEYS[2] id key; ARGV[1] record json, ARGV[2] ttl seconds, ARGV[3] maxlen.
    private static readonly LuaScript Append = LuaScript.Prepare(
        """
        if redis.call('SET', @idKey, '1', 'NX', 'EX', @ttl) then
          return redis.call('XADD', @stream, 'MAXLEN', '~', @maxLen, '*', 'record', @record)
        end
        return false
        """);

    // An egress call also joins its parent's list of children (a copy, kept for the de-duplication window), so a
    // workload's query can nest them without scanning the stream.
    private static readonly LuaScript AppendChild = LuaScript.Prepare(
        """
        if redis.call('SET', @idKey, '1', 'NX', 'EX', @ttl) then
          local id = redis.call('XADD', @stream, 'MAXLEN', '~', @maxLen, '*', 'record', @record)
          redis.call('RPUSH', @childrenKey, @record)
          redis.call('LTRIM', @childrenKey, 0, @maxChildren - 1)
          redis.call('EXPIRE', @childrenKey, @ttl)
          return id
        end
        return false
        """);

    public async Task<IReadOnlyList<AuditRecord>> AppendAsync(IReadOnlyList<AuditRecord> records)
    {
        var database = redis.GetDatabase();
        var settings = options.Value;
        var writes = records.Select(record => database.ScriptEvaluateAsync(record.ParentRecordId is null ? Append : AppendChild, new
        {
            stream = (RedisKey)settings.StreamKey,
            idKey = (RedisKey)(settings.StreamKey + ":id:" + record.Id.ToString("N")),
            childrenKey = (RedisKey)ChildrenKey(record.ParentRecordId ?? Guid.Empty),
            maxChildren = AuditPage.MaxChildren,
            ttl = (long)settings.DeduplicationWindow.TotalSeconds,
            maxLen = settings.Capacity,
            record = JsonSerializer.Serialize(record, Json),
        })).ToArray();
        var results = await Task.WhenAll(writes);
        return [.. records.Where((_, i) => !results[i].IsNull)];
    }

    private string ChildrenKey(Guid parent) => options.Value.StreamKey + ":children:" + parent.ToString("N");

    public async Task<AuditPage> QueryAsync(AuditQuery query)
    {
        var page = await QueryRecordsAsync(query);
        if (!query.WithChildren || page.Records.Count == 0)
        {
            return page;
        }
        var database = redis.GetDatabase();
        var lists = await Task.WhenAll(page.Records.Select(r => database.ListRangeAsync(ChildrenKey(r.Id), 0, AuditPage.MaxChildren - 1)));
        var children = new Dictionary<Guid, IReadOnlyList<AuditRecord>>();
        for (var i = 0; i < lists.Length; i++)
        {
            if (lists[i].Length > 0)
            {
                children[page.Records[i].Id] = [.. lists[i].Select(json => JsonSerializer.Deserialize<AuditRecord>((string)json!, Json)).OfType<AuditRecord>()];
            }
        }
        return page with { Children = children };
    }

    private async Task<AuditPage> QueryRecordsAsync(AuditQuery query)
    {
        var database = redis.GetDatabase();
        var matches = AuditFilter.For(query);
        var limit = Math.Clamp(query.Limit, 1, 1000);
        var records = new List<AuditRecord>(limit);
        // Exclusive upper bound: "(" + id continues strictly before the previous page's last entry.
        RedisValue max = query.Cursor is { Length: > 0 } cursor ? "(" + cursor : "+";
        string? last = null;
        const int Chunk = 500;
        while (records.Count < limit)
        {
            var entries = await database.StreamRangeAsync(options.Value.StreamKey, "-", max, Chunk, Order.Descending);
            if (entries.Length == 0)
            {
                return new AuditPage(records, null);
            }
            foreach (var entry in entries)
            {
                last = entry.Id!;
                var json = entry.Values.FirstOrDefault(v => v.Name == "record").Value;
                if (json.IsNullOrEmpty || JsonSerializer.Deserialize<AuditRecord>((string)json!, Json) is not { } record
                    || !matches(record))
                {
                    continue;
                }
                records.Add(record);
                if (records.Count == limit)
                {
                    return new AuditPage(records, last);
                }
            }
            max = "(" + last;
        }
        return new AuditPage(records, last);
    }
}
