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

/// <summary>The endpoints of <see cref="VaultApiDouble"/>, each shaped as the page it names.</summary>
public sealed partial class VaultApiDouble
{
    // ---- the API ---------------------------------------------------------------------------

    private async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        var body = await new StreamReader(request.Body).ReadToEndAsync(context.RequestAborted);
        var fullPath = request.Path.Value ?? "";
        var record = new VaultRequestRecord(
            request.Method,
            fullPath.StartsWith("/v1/", StringComparison.Ordinal) ? fullPath[4..] : fullPath,
            request.QueryString.Value ?? "",
            Header(request, "X-Vault-Token"),
            Header(request, "X-Vault-Namespace"),
            Header(request, "X-Vault-Request"),
            body);
        _requests.Enqueue(record);

        // developer.hashicorp.com/vault/api-docs (overview): every API path is under /v1/.
        if (!fullPath.StartsWith("/v1/", StringComparison.Ordinal))
        {
            await Error(context, 404, []);
            return;
        }
        var path = record.Path;

        if (TakeFault(path) is { } fault)
        {
            await ApplyFault(context, path, fault);
            return;
        }

        if (path == "sys/health" && request.Method is "GET" or "HEAD")
        {
            await HealthAsync(context);
            return;
        }
        if (Health == VaultHealthState.Sealed)
        {
            // developer.hashicorp.com/vault/api-docs#http-status-codes, 503: "Vault is down for maintenance or is currently sealed".
            await Error(context, 503, ["Vault is sealed"]);
            return;
        }
        if (path == $"auth/{AppRoleMount}/login" && request.Method is "POST" or "PUT")
        {
            await LoginAsync(context, body);
            return;
        }

        // developer.hashicorp.com/vault/api-docs#http-status-codes, 403 (and #authentication): a missing, unknown, expired or revoked token is 403 "permission denied".
        TokenEntry? token;
        lock (_gate)
        {
            token = record.Token is { } t && _tokens.TryGetValue(t, out var entry) && IsValid(entry) ? entry : null;
        }
        if (token is null)
        {
            await Error(context, 403, ["permission denied"]);
            return;
        }

        switch (path)
        {
            case "auth/token/lookup-self" when request.Method == "GET":
                await LookupSelfAsync(context, token);
                return;
            case "auth/token/renew-self" when request.Method is "POST" or "PUT":
                await RenewSelfAsync(context, token, body);
                return;
            case "sys/leases/renew" when request.Method is "PUT" or "POST":
                await RenewLeaseAsync(context, body);
                return;
            case "sys/leases/revoke" when request.Method is "PUT" or "POST":
                await RevokeLeaseAsync(context, body);
                return;
        }

        var segments = path.Split('/', 3);
        if (segments.Length == 3 && segments[1] == "data" && request.Method == "GET" && HasKvMount(segments[0]))
        {
            await ReadKvAsync(context, segments[0], Uri.UnescapeDataString(segments[2]));
            return;
        }
        if (segments.Length == 3 && segments[1] == "creds" && request.Method is "GET" or "POST" && HasDatabaseMount(segments[0]))
        {
            await GenerateCredentialsAsync(context, segments[0], segments[2]);
            return;
        }
        if (segments.Length >= 2 && request.Method == "GET" && ReadKvV1(segments[0], path[(segments[0].Length + 1)..]) is { } v1)
        {
            // developer.hashicorp.com/vault/api-docs/secret/kv/kv-v1#read-secret: "Sample response" — data at the
            // top level, lease_id "", renewable false, lease_duration 2764800 (the mount's 768 h refresh hint).
            var envelope = Envelope(v1, mountType: "kv");
            envelope["lease_duration"] = 2764800;
            await Json(context, 200, envelope);
            return;
        }
        // developer.hashicorp.com/vault/api-docs#http-status-codes, 404 "Invalid path"; unmounted paths answer with the router's message.
        await Error(context, 404, [$"no handler for route \"{path}\". route entry not found."]);
    }

    // developer.hashicorp.com/vault/api-docs/system/health: status by state; body as in its "Sample response" (GET only).
    private async Task HealthAsync(HttpContext context)
    {
        var (status, sealedState, standby, perfStandby, initialized, dr) = Health switch
        {
            VaultHealthState.Active => (200, false, false, false, true, "disabled"),
            VaultHealthState.Standby => (429, false, true, false, true, "disabled"),
            VaultHealthState.DrSecondary => (472, false, true, false, true, "secondary"),
            VaultHealthState.PerformanceStandby => (473, false, true, true, true, "disabled"),
            VaultHealthState.NotInitialized => (501, true, true, false, false, "disabled"),
            VaultHealthState.Sealed => (503, true, true, false, true, "disabled"),
            _ => throw new InvalidOperationException(),
        };
        context.Response.StatusCode = status;
        if (context.Request.Method == "HEAD")
        {
            return;
        }
        await Json(context, status, new JsonObject
        {
            ["initialized"] = initialized,
            ["sealed"] = sealedState,
            ["standby"] = standby,
            ["performance_standby"] = perfStandby,
            ["replication_performance_mode"] = "disabled",
            ["replication_dr_mode"] = dr,
            ["server_time_utc"] = _time.GetUtcNow().ToUnixTimeSeconds(),
            ["version"] = VaultVersion,
            ["cluster_name"] = "vault-cluster-double",
            ["cluster_id"] = "00af5aa8-c87d-b5fc-e82e-97cd8dfaf731",
        });
    }

    // developer.hashicorp.com/vault/api-docs/auth/approle#login-with-approle: "Sample response" (auth block: client_token, accessor,
    // policies, token_policies, metadata, lease_duration, renewable). Bad credentials: 400 "invalid role or secret ID".
    private async Task LoginAsync(HttpContext context, string body)
    {
        var json = ParseObject(body);
        var roleId = json?["role_id"]?.GetValue<string>();
        var secretId = json?["secret_id"]?.GetValue<string>();
        if (roleId != RoleId || secretId != SecretId)
        {
            await Error(context, 400, ["invalid role or secret ID"]);
            return;
        }
        TokenEntry token;
        lock (_gate)
        {
            token = new TokenEntry("hvs." + RandomId(24), Guid.NewGuid().ToString(), _time.GetUtcNow(), AppRoleTokenTtl, AppRoleTokenMaxTtl,
                AppRoleTokenRenewable, ["default", "fabric"], $"auth/{AppRoleMount}/login");
            _tokens[token.Token] = token;
        }
        await Json(context, 200, Envelope(data: null, auth: AuthBlock(token, token.Ttl)));
    }

    // developer.hashicorp.com/vault/api-docs/auth/token#lookup-a-token-self: "Sample response" (data.id is the token itself, data.ttl seconds left).
    private async Task LookupSelfAsync(HttpContext context, TokenEntry token)
    {
        var now = _time.GetUtcNow();
        var left = token.Ttl == TimeSpan.Zero ? 0 : (long)Math.Max(0, (token.ExpiresAt - now).TotalSeconds);
        await Json(context, 200, Envelope(new JsonObject
        {
            ["accessor"] = token.Accessor,
            ["creation_time"] = token.IssuedAt.ToUnixTimeSeconds(),
            ["creation_ttl"] = (long)token.OriginalTtl.TotalSeconds,
            ["display_name"] = token.Path.StartsWith("auth/token/root", StringComparison.Ordinal) ? "root" : "approle",
            ["entity_id"] = "",
            ["expire_time"] = token.Ttl == TimeSpan.Zero ? null : RfcTime(token.ExpiresAt),
            ["explicit_max_ttl"] = 0,
            ["id"] = token.Token,
            ["issue_time"] = RfcTime(token.IssuedAt),
            ["meta"] = null,
            ["num_uses"] = 0,
            ["orphan"] = true,
            ["path"] = token.Path,
            ["policies"] = Array(token.Policies),
            ["renewable"] = token.Renewable,
            ["ttl"] = left,
            ["type"] = "service",
        }));
    }

    // developer.hashicorp.com/vault/api-docs/auth/token#renew-a-token-self: "Sample response" (auth block with the new lease_duration);
    // the TTL restarts from now, never past the max TTL.
    private async Task RenewSelfAsync(HttpContext context, TokenEntry token, string body)
    {
        if (!token.Renewable || token.Ttl == TimeSpan.Zero)
        {
            await Error(context, 400, ["lease is not renewable"]);
            return;
        }
        var now = _time.GetUtcNow();
        var increment = Seconds(ParseObject(body)?["increment"]) ?? token.OriginalTtl;
        var ttl = Min(increment, token.IssuedAt + token.MaxTtl - now);
        lock (_gate)
        {
            token.RenewedAt = now;
            token.Ttl = ttl;
        }
        await Json(context, 200, Envelope(data: null, auth: AuthBlock(token, ttl)));
    }

    // developer.hashicorp.com/vault/api-docs/secret/kv/kv-v2#read-secret-version: "Sample response" (data.data + data.metadata with
    // created_time, custom_metadata, deletion_time, destroyed, version). A deleted or destroyed version:
    // 404 with the same envelope and data.data null (github.com/hvac/hvac/issues/955). Unknown path or
    // version: 404 {"errors":[]}.
    private async Task ReadKvAsync(HttpContext context, string mount, string path)
    {
        KvVersion? version;
        IReadOnlyDictionary<string, string>? customMetadata = null;
        lock (_gate)
        {
            version = null;
            if (_kv[mount].TryGetValue(path, out var key) && key.Versions is { Count: > 0 } versions)
            {
                customMetadata = key.CustomMetadata;
                var wanted = int.TryParse(context.Request.Query["version"], NumberStyles.None, CultureInfo.InvariantCulture, out var v) && v > 0 ? v : versions.Count;
                version = wanted <= versions.Count ? versions[wanted - 1] : null;
            }
        }
        if (version is null)
        {
            await Error(context, 404, []);
            return;
        }
        var gone = version.DeletedAt is not null || version.Destroyed;
        var data = new JsonObject
        {
            ["data"] = gone ? null : version.Data.DeepClone(),
            ["metadata"] = new JsonObject
            {
                ["created_time"] = RfcTime(version.CreatedAt),
                ["custom_metadata"] = customMetadata is null ? null : JsonSerializer.SerializeToNode(customMetadata),
                ["deletion_time"] = version.DeletedAt is { } d ? RfcTime(d) : "",
                ["destroyed"] = version.Destroyed,
                ["version"] = version.Number,
            },
        };
        await Json(context, gone ? 404 : 200, Envelope(data, mountType: "kv"));
    }

    // developer.hashicorp.com/vault/api-docs/secret/databases#generate-credentials: "Sample response" (data.username, data.password,
    // lease_id "<mount>/creds/<role>/<id>", lease_duration, renewable true).
    private async Task GenerateCredentialsAsync(HttpContext context, string mount, string role)
    {
        DbRole? dbRole;
        lock (_gate)
        {
            _databases[mount].TryGetValue(role, out dbRole);
        }
        if (dbRole is null)
        {
            await Error(context, 400, [$"unknown role: {role}"]);
            return;
        }
        var lease = new LeaseEntry(
            $"{mount}/creds/{role}/{RandomId(24)}",
            _time.GetUtcNow(),
            dbRole.Ttl,
            dbRole.MaxTtl,
            dbRole.Renewable,
            new JsonObject
            {
                ["username"] = $"v-approle-{role}-{RandomId(20)}-{_time.GetUtcNow().ToUnixTimeSeconds()}",
                ["password"] = "A1a-" + RandomId(20),
            });
        lock (_gate)
        {
            _leases[lease.Id] = lease;
        }
        var envelope = Envelope(lease.Data.DeepClone(), mountType: "database");
        envelope["lease_id"] = lease.Id;
        envelope["lease_duration"] = (long)lease.Ttl.TotalSeconds;
        envelope["renewable"] = lease.Renewable;
        await Json(context, 200, envelope);
    }

    // developer.hashicorp.com/vault/api-docs/system/leases#renew-lease: "Sample response" {lease_id, renewable, lease_duration}.
    // A revoked, expired or unknown lease (or a non-renewable one): 400 "lease not found or lease is not renewable".
    private async Task RenewLeaseAsync(HttpContext context, string body)
    {
        var json = ParseObject(body);
        var id = json?["lease_id"]?.GetValue<string>();
        LeaseEntry? lease;
        lock (_gate)
        {
            lease = id is not null && _leases.TryGetValue(id, out var l) && IsActive(l) && l.Renewable ? l : null;
        }
        if (lease is null)
        {
            await Error(context, 400, ["lease not found or lease is not renewable"]);
            return;
        }
        var now = _time.GetUtcNow();
        var ttl = Min(Seconds(json?["increment"]) ?? lease.OriginalTtl, lease.IssuedAt + lease.MaxTtl - now);
        lock (_gate)
        {
            lease.RenewedAt = now;
            lease.Ttl = ttl;
        }
        var envelope = Envelope(data: null);
        envelope["lease_id"] = lease.Id;
        envelope["renewable"] = true;
        envelope["lease_duration"] = (long)ttl.TotalSeconds;
        await Json(context, 200, envelope);
    }

    // developer.hashicorp.com/vault/api-docs/system/leases#revoke-lease: 204 (empty body), also for a lease that is already gone.
    private async Task RevokeLeaseAsync(HttpContext context, string body)
    {
        var id = ParseObject(body)?["lease_id"]?.GetValue<string>();
        if (string.IsNullOrEmpty(id))
        {
            await Error(context, 400, ["lease_id is required"]);
            return;
        }
        lock (_gate)
        {
            if (_leases.TryGetValue(id, out var lease))
            {
                lease.Revoked = true;
            }
        }
        context.Response.StatusCode = 204;
    }

    // Injected faults, shaped per developer.hashicorp.com/vault/api-docs#http-status-codes: 503 "Vault is sealed",
    // 500 internal error, any other status with an {"errors":[…]} body; Drop aborts the connection mid-request.
    private static async Task ApplyFault(HttpContext context, string path, VaultFault fault)
    {
        switch (fault.Kind)
        {
            case VaultFaultKind.Drop:
                context.Abort();
                return;
            case VaultFaultKind.RateLimited:
                // developer.hashicorp.com/vault/docs/concepts/resource-quotas: rate-limited requests get 429 and a Retry-After header.
                if (fault.RetryAfter is { } retryAfter)
                {
                    context.Response.Headers.RetryAfter = retryAfter;
                }
                await Error(context, 429, [$"request path \"{path}\": rate limit quota exceeded"]);
                return;
            case VaultFaultKind.Sealed:
                await Error(context, 503, ["Vault is sealed"]);
                return;
            case VaultFaultKind.Internal:
                await Error(context, 500, ["internal error"]);
                return;
            default:
                await Error(context, fault.Status, fault.Errors ?? []);
                return;
        }
    }
}
