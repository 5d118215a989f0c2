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

    public async Task<IReadOnlyList<AuditRecord>> AppendAsync(IReadOnlyList<AuditRecord> records)
    {
        var database = redis.GetDatabase();
        var settings = options.Value;
        var writes = records.Select(record => database.ScriptEvaluateAsync(Append, new
        {
            stream = (RedisKey)settings.StreamKey,
            idKey = (RedisKey)(settings.StreamKey + ":id:" + record.Id.ToString("N")),
            ttl = (long)settings.DeduplicationWindow.TotalSeconds,
            maxLen = settings.Capacity,
            record = JsonSerializer.Serialize(record, Json),
        })).ToArray();
        var results = await Task.WhenAll(writes);
        return [.. records.Where((_, i) => !results[i].IsNull)];
    }

    public async Task<AuditPage> QueryAsync(AuditQuery query)
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
