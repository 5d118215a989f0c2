using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Fabric.Silo.Tests.Secrets.Vault;

/// <summary>
/// An in-process double of the HashiCorp Vault HTTP API on real Kestrel over HTTPS (certificate from
/// <see cref="VaultTestCertificates"/>). It reproduces the documented wire contract the fabric and
/// hvac use — every response shape names the page it follows — and nothing else:
/// <list type="bullet">
/// <item>developer.hashicorp.com/vault/api-docs (overview): <c>/v1/</c> prefix, <c>X-Vault-Token</c>,
///   <c>X-Vault-Namespace</c>, error body <c>{"errors":[…]}</c>, status codes; response envelope
///   (<c>request_id</c>, <c>lease_id</c>, <c>renewable</c>, <c>lease_duration</c>, <c>data</c>, <c>wrap_info</c>,
///   <c>warnings</c>, <c>auth</c>, <c>mount_type</c>).</item>
/// <item>…/api-docs/auth/approle#login-with-approle, …/auth/token#renew-a-token-self, #lookup-a-token-self.</item>
/// <item>…/api-docs/secret/kv/kv-v2#read-secret-version (+ the deleted-version 404 envelope, github.com/hvac/hvac/issues/955).</item>
/// <item>…/api-docs/secret/databases#generate-credentials (lease ids <c>&lt;mount&gt;/creds/&lt;role&gt;/&lt;id&gt;</c>).</item>
/// <item>…/api-docs/system/leases#renew-lease, #revoke-lease; …/api-docs/system/health.</item>
/// <item>…/docs/concepts/resource-quotas (429 with <c>Retry-After</c>).</item>
/// </list>
/// Every request is logged (<see cref="Requests"/>); faults can be injected (<see cref="InjectFault"/>).
/// Time (token and lease TTLs) comes from the <see cref="TimeProvider"/> given to <see cref="StartAsync"/>.
/// </summary>
public sealed partial class VaultApiDouble : IAsyncDisposable
{
    public const string RootToken = "hvs.root-token-of-the-vault-double";
    public const string DefaultRoleId = "9f1d6c2a-0b6e-4f33-8a57-5f0c1b2d3e4f";
    public const string DefaultSecretId = "secret-id-7e2b9c41-5a6d-4c1e-9f08-3b7a2d6e1c55";
    public const string VaultVersion = "1.17.2";

    private readonly object _gate = new();
    private readonly WebApplication _app;
    private readonly TimeProvider _time;
    private readonly ConcurrentQueue<VaultRequestRecord> _requests = new();
    private readonly Dictionary<string, TokenEntry> _tokens = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Dictionary<string, KvKey>> _kv = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Dictionary<string, JsonObject>> _kvV1 = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Dictionary<string, DbRole>> _databases = new(StringComparer.Ordinal);
    private readonly Dictionary<string, LeaseEntry> _leases = new(StringComparer.Ordinal);
    private readonly List<FaultEntry> _faults = [];

    private VaultApiDouble(WebApplication app, TimeProvider time)
    {
        _app = app;
        _time = time;
        _tokens[RootToken] = new TokenEntry(RootToken, "root-accessor", time.GetUtcNow(), TimeSpan.Zero, TimeSpan.Zero, false, ["root"], "auth/token/root");
    }

    public Uri Address { get; private set; } = null!;

    public string CaFile { get; } = VaultTestCertificates.CaFile;

    public string AppRoleMount { get; set; } = "approle";

    public string RoleId { get; set; } = DefaultRoleId;

    public string SecretId { get; set; } = DefaultSecretId;

    /// <summary>TTL of tokens AppRole logins issue (<c>token_ttl</c>).</summary>
    public TimeSpan AppRoleTokenTtl { get; set; } = TimeSpan.FromMinutes(20);

    /// <summary><c>token_max_ttl</c>: renew-self never extends a token past issue time + this.</summary>
    public TimeSpan AppRoleTokenMaxTtl { get; set; } = TimeSpan.FromHours(24);

    public bool AppRoleTokenRenewable { get; set; } = true;

    public VaultHealthState Health { get; set; } = VaultHealthState.Active;

    public IReadOnlyList<VaultRequestRecord> Requests => [.. _requests];

    public int Count(string method, string apiPath) =>
        _requests.Count(r => r.Method == method && r.Path == apiPath);

    public static async Task<VaultApiDouble> StartAsync(TimeProvider? time = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel =>
            kestrel.Listen(IPAddress.Loopback, 0, listen => listen.UseHttps(VaultTestCertificates.Server)));
        var app = builder.Build();
        var vault = new VaultApiDouble(app, time ?? TimeProvider.System);
        app.Run(vault.HandleAsync);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        vault.Address = new Uri(address);
        return vault;
    }

    // ---- arranging state -------------------------------------------------------------------

    /// <summary>Writes a new KV v2 version (as <c>POST /v1/&lt;mount&gt;/data/&lt;path&gt;</c> would) and returns its number.</summary>
    public int PutKv(string mount, string path, IReadOnlyDictionary<string, object?> data, IReadOnlyDictionary<string, string>? customMetadata = null)
    {
        lock (_gate)
        {
            if (!_kv.TryGetValue(mount, out var paths))
            {
                _kv[mount] = paths = new(StringComparer.Ordinal);
            }
            if (!paths.TryGetValue(path, out var key))
            {
                paths[path] = key = new KvKey();
            }
            // custom_metadata belongs to the key, not to a version (kv-v2#read-secret-version).
            key.CustomMetadata = customMetadata ?? key.CustomMetadata;
            key.Versions.Add(new KvVersion(key.Versions.Count + 1, JsonSerializer.SerializeToNode(data)!.AsObject(), _time.GetUtcNow()));
            return key.Versions.Count;
        }
    }

    /// <summary>Soft delete (<c>DELETE /v1/&lt;mount&gt;/data/&lt;path&gt;</c> or <c>…/delete</c>): data kept, reads answer 404.</summary>
    public void DeleteKvVersion(string mount, string path, int version) => WithVersion(mount, path, version, v => v.DeletedAt = _time.GetUtcNow());

    /// <summary><c>…/destroy</c>: the data is gone for good.</summary>
    public void DestroyKvVersion(string mount, string path, int version) => WithVersion(mount, path, version, v => v.Destroyed = true);

    /// <summary>A KV version 1 secret (<c>POST /v1/&lt;mount&gt;/&lt;path&gt;</c>): read back without a lease.</summary>
    public void PutKvV1(string mount, string path, IReadOnlyDictionary<string, object?> data)
    {
        lock (_gate)
        {
            if (!_kvV1.TryGetValue(mount, out var paths))
            {
                _kvV1[mount] = paths = new(StringComparer.Ordinal);
            }
            paths[path] = JsonSerializer.SerializeToNode(data)!.AsObject();
        }
    }

    public void AddDatabaseRole(string mount, string role, TimeSpan ttl, TimeSpan maxTtl, bool renewable = true)
    {
        lock (_gate)
        {
            if (!_databases.TryGetValue(mount, out var roles))
            {
                _databases[mount] = roles = new(StringComparer.Ordinal);
            }
            roles[role] = new DbRole(ttl, maxTtl, renewable);
        }
    }

    /// <summary>A token as <c>auth/token/create</c> would mint it.</summary>
    public string CreateToken(TimeSpan ttl, bool renewable, TimeSpan? maxTtl = null)
    {
        lock (_gate)
        {
            var token = "hvs." + RandomId(24);
            _tokens[token] = new TokenEntry(token, Guid.NewGuid().ToString(), _time.GetUtcNow(), ttl, maxTtl ?? TimeSpan.FromHours(24), renewable, ["default", "fabric"], "auth/token/create");
            return token;
        }
    }

    /// <summary>Revokes a token out of band (an operator's <c>vault token revoke</c>).</summary>
    public void RevokeToken(string token)
    {
        lock (_gate)
        {
            if (_tokens.TryGetValue(token, out var entry))
            {
                entry.Revoked = true;
            }
        }
    }

    /// <summary>Tokens AppRole logins issued, oldest first.</summary>
    public IReadOnlyList<string> IssuedAppRoleTokens
    {
        get
        {
            lock (_gate)
            {
                return [.. _tokens.Values.Where(t => t.Path.StartsWith("auth/" + AppRoleMount, StringComparison.Ordinal)).OrderBy(t => t.Serial).Select(t => t.Token)];
            }
        }
    }

    public LeaseSnapshot? Lease(string leaseId)
    {
        lock (_gate)
        {
            return _leases.TryGetValue(leaseId, out var l)
                ? new LeaseSnapshot(l.Id, IsActive(l), l.Revoked, l.Ttl, l.Data["username"]?.GetValue<string>(), l.Data["password"]?.GetValue<string>())
                : null;
        }
    }

    public IReadOnlyList<LeaseSnapshot> Leases
    {
        get
        {
            lock (_gate)
            {
                return [.. _leases.Keys.Select(id => Lease(id)!)];
            }
        }
    }

    /// <summary>The next <paramref name="times"/> requests whose path starts with <paramref name="pathPrefix"/> get <paramref name="fault"/>.</summary>
    public void InjectFault(string pathPrefix, VaultFault fault, int times = 1)
    {
        lock (_gate)
        {
            _faults.Add(new FaultEntry(pathPrefix, fault, times));
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    // ---- helpers -----------------------------------------------------------------------------

    /// <summary>The envelope every logical response carries (developer.hashicorp.com/vault/api-docs overview; see any "Sample response").</summary>
    private static JsonObject Envelope(JsonNode? data, JsonObject? auth = null, string? mountType = null) => new()
    {
        ["request_id"] = Guid.NewGuid().ToString(),
        ["lease_id"] = "",
        ["renewable"] = false,
        ["lease_duration"] = 0,
        ["data"] = data,
        ["wrap_info"] = null,
        ["warnings"] = null,
        ["auth"] = auth,
        ["mount_type"] = mountType ?? (auth is null ? "system" : ""),
    };

    private static JsonObject AuthBlock(TokenEntry token, TimeSpan ttl) => new()
    {
        ["client_token"] = token.Token,
        ["accessor"] = token.Accessor,
        ["policies"] = Array(token.Policies),
        ["token_policies"] = Array(token.Policies),
        ["metadata"] = new JsonObject { ["role_name"] = "fabric" },
        ["lease_duration"] = (long)ttl.TotalSeconds,
        ["renewable"] = token.Renewable,
        ["entity_id"] = "",
        ["token_type"] = "service",
        ["orphan"] = true,
        ["mfa_requirement"] = null,
        ["num_uses"] = 0,
    };

    // developer.hashicorp.com/vault/api-docs#error-response: {"errors":[…]} with Content-Type exactly application/json (hvac reads
    // the errors only when the header is exactly that).
    private static Task Error(HttpContext context, int status, string[] errors) =>
        Json(context, status, new JsonObject { ["errors"] = Array(errors) });

    private static async Task Json(HttpContext context, int status, JsonObject body)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        context.Response.Headers.CacheControl = "no-store";
        await context.Response.WriteAsync(body.ToJsonString(), context.RequestAborted);
    }

    private VaultFault? TakeFault(string path)
    {
        lock (_gate)
        {
            var entry = _faults.FirstOrDefault(f => f.Remaining > 0 && path.StartsWith(f.PathPrefix, StringComparison.Ordinal));
            if (entry is null)
            {
                return null;
            }
            entry.Remaining--;
            return entry.Fault;
        }
    }

    private void WithVersion(string mount, string path, int version, Action<KvVersion> change)
    {
        lock (_gate)
        {
            change(_kv[mount][path].Versions[version - 1]);
        }
    }

    private bool HasKvMount(string mount)
    {
        lock (_gate)
        {
            return _kv.ContainsKey(mount);
        }
    }

    private JsonObject? ReadKvV1(string mount, string path)
    {
        lock (_gate)
        {
            return _kvV1.TryGetValue(mount, out var paths) && paths.TryGetValue(path, out var data) ? (JsonObject)data.DeepClone() : null;
        }
    }

    private bool HasDatabaseMount(string mount)
    {
        lock (_gate)
        {
            return _databases.ContainsKey(mount);
        }
    }

    private bool IsValid(TokenEntry token) => !token.Revoked && (token.Ttl == TimeSpan.Zero || _time.GetUtcNow() < token.ExpiresAt);

    private bool IsActive(LeaseEntry lease) => !lease.Revoked && _time.GetUtcNow() < lease.ExpiresAt;

    private static string? Header(HttpRequest request, string name) =>
        request.Headers.TryGetValue(name, out var values) ? values.ToString() : null;

    private static JsonObject? ParseObject(string body)
    {
        try
        {
            return string.IsNullOrWhiteSpace(body) ? null : JsonNode.Parse(body) as JsonObject;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>A duration parameter: seconds as a number or a numeric string; null or absent → null.</summary>
    private static TimeSpan? Seconds(JsonNode? node) => node switch
    {
        JsonValue v when v.TryGetValue<long>(out var n) && n > 0 => TimeSpan.FromSeconds(n),
        JsonValue v when v.TryGetValue<string>(out var s) && long.TryParse(s, CultureInfo.InvariantCulture, out var n) && n > 0 => TimeSpan.FromSeconds(n),
        _ => null,
    };

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : (b < TimeSpan.Zero ? TimeSpan.Zero : b);

    private static JsonArray Array(IEnumerable<string> items) => [.. items.Select(i => (JsonNode)i)];

    private static string RfcTime(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);

    private static string RandomId(int length)
    {
        const string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        return new string([.. Enumerable.Range(0, length).Select(_ => alphabet[RandomNumberGenerator.GetInt32(alphabet.Length)])]);
    }

    private sealed class TokenEntry(string token, string accessor, DateTimeOffset issuedAt, TimeSpan ttl, TimeSpan maxTtl, bool renewable, string[] policies, string path)
    {
        private static long s_serial;

        public long Serial { get; } = Interlocked.Increment(ref s_serial);
        public string Token { get; } = token;
        public string Accessor { get; } = accessor;
        public DateTimeOffset IssuedAt { get; } = issuedAt;
        public DateTimeOffset RenewedAt { get; set; } = issuedAt;
        public TimeSpan OriginalTtl { get; } = ttl;
        public TimeSpan Ttl { get; set; } = ttl;
        public TimeSpan MaxTtl { get; } = maxTtl;
        public bool Renewable { get; } = renewable;
        public string[] Policies { get; } = policies;
        public string Path { get; } = path;
        public bool Revoked { get; set; }
        public DateTimeOffset ExpiresAt => RenewedAt + Ttl;
    }

    private sealed class KvKey
    {
        public List<KvVersion> Versions { get; } = [];
        public IReadOnlyDictionary<string, string>? CustomMetadata { get; set; }
    }

    private sealed class KvVersion(int number, JsonObject data, DateTimeOffset createdAt)
    {
        public int Number { get; } = number;
        public JsonObject Data { get; } = data;
        public DateTimeOffset CreatedAt { get; } = createdAt;
        public DateTimeOffset? DeletedAt { get; set; }
        public bool Destroyed { get; set; }
    }

    private sealed record DbRole(TimeSpan Ttl, TimeSpan MaxTtl, bool Renewable);

    private sealed class LeaseEntry(string id, DateTimeOffset issuedAt, TimeSpan ttl, TimeSpan maxTtl, bool renewable, JsonObject data)
    {
        public string Id { get; } = id;
        public DateTimeOffset IssuedAt { get; } = issuedAt;
        public DateTimeOffset RenewedAt { get; set; } = issuedAt;
        public TimeSpan OriginalTtl { get; } = ttl;
        public TimeSpan Ttl { get; set; } = ttl;
        public TimeSpan MaxTtl { get; } = maxTtl;
        public bool Renewable { get; } = renewable;
        public JsonObject Data { get; } = data;
        public bool Revoked { get; set; }
        public DateTimeOffset ExpiresAt => RenewedAt + Ttl;
    }

    private sealed class FaultEntry(string pathPrefix, VaultFault fault, int remaining)
    {
        public string PathPrefix { get; } = pathPrefix;
        public VaultFault Fault { get; } = fault;
        public int Remaining { get; set; } = remaining;
    }
}

