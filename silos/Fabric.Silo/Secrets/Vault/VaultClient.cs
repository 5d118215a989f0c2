using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Fabric.Silo.Secrets.Vault;

/// <summary>
/// A thin typed client of the Vault HTTP API (VaultSharp is not available here). Every request goes
/// to <c>/v1/…</c> with <c>X-Vault-Request: true</c>, <c>X-Vault-Namespace</c> when configured and
/// <c>X-Vault-Token</c> where the endpoint needs one, through the named <see cref="HttpClientName"/>
/// client (retries: <see cref="VaultRetryPolicy"/>). Failures surface as
/// <see cref="SecretSourceException"/> (mapping: <see cref="VaultErrors"/>). One instance per silo:
/// it owns the client token (<see cref="VaultClient"/>'s auth part).
/// </summary>
public sealed partial class VaultClient : IDisposable
{
    public const string HttpClientName = "fabric-vault";

    private readonly IHttpClientFactory _httpClients;
    private readonly VaultOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    public VaultClient(IHttpClientFactory httpClients, IOptions<VaultOptions> options, TimeProvider time, ILogger<VaultClient> logger)
    {
        ArgumentNullException.ThrowIfNull(httpClients);
        ArgumentNullException.ThrowIfNull(options);
        _httpClients = httpClients;
        _options = options.Value;
        _time = time;
        _logger = logger;
    }

    /// <summary>
    /// KV v2 read: <c>GET /v1/&lt;mount&gt;/data/&lt;path&gt;[?version=N]</c>
    /// (developer.hashicorp.com/vault/api-docs/secret/kv/kv-v2#read-secret-version). A deleted or
    /// destroyed version answers 404 with the usual envelope and <c>data.data: null</c>; that, and an
    /// unknown path or version, is <see cref="SecretSourceError.NotFound"/> — never an empty value.
    /// </summary>
    public async Task<VaultKvSecret> ReadKvAsync(string mount, string path, int? version, CancellationToken cancellationToken)
    {
        var apiPath = $"{ApiPath(mount, nameof(mount))}/data/{ApiPath(path, nameof(path))}";
        var what = version is { } v ? $"KV secret {apiPath} version {v}" : $"KV secret {apiPath}";
        using var response = await SendAsync(HttpMethod.Get, apiPath, version is { } n ? $"version={n.ToString(CultureInfo.InvariantCulture)}" : null, null, cancellationToken);

        if (response.Status is HttpStatusCode.OK or HttpStatusCode.NotFound
            && response.TryGet("data", out var envelope)
            && VaultResponse.TryGet(envelope, "metadata", out var metadataElement))
        {
            var metadata = ParseMetadata(metadataElement);
            if (VaultResponse.TryGet(envelope, "data", out var data) && data.ValueKind == JsonValueKind.Object && response.Status == HttpStatusCode.OK)
            {
                return new VaultKvSecret(new VaultSecretData(data), metadata);
            }
            var state = metadata.Destroyed
                ? "is destroyed"
                : metadata.DeletionTime is { } deleted ? $"was deleted at {deleted:O}" : "has no data";
            throw new SecretSourceException(SecretSourceError.NotFound, $"{what}: version {metadata.Version} {state}");
        }
        if (response.Status == HttpStatusCode.OK)
        {
            throw new SecretSourceException(SecretSourceError.InvalidRequest,
                $"{what}: the answer has no data.metadata; is '{mount}' a KV version 2 mount?");
        }
        throw VaultErrors.FromResponse(HttpMethod.Get, apiPath, response.Status, response.Body, what);
    }

    /// <summary>A read from a leasing engine with <c>GET /v1/&lt;path&gt;</c>, e.g. <c>database/creds/readonly</c>.</summary>
    public Task<VaultLeasedSecret> ReadAsync(string path, CancellationToken cancellationToken) =>
        ReadAsync(path, HttpMethod.Get, cancellationToken);

    /// <summary>
    /// A read from a leasing engine: <c>lease_id</c>, <c>lease_duration</c>, <c>renewable</c>, <c>data</c>
    /// (developer.hashicorp.com/vault/api-docs/secret/databases#generate-credentials). Some engines issue
    /// on a write (<c>POST</c>/<c>PUT</c>, e.g. <c>aws/sts/&lt;role&gt;</c>): pass that method.
    /// </summary>
    public async Task<VaultLeasedSecret> ReadAsync(string path, HttpMethod method, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(method);
        var apiPath = ApiPath(path, nameof(path));
        var body = method == HttpMethod.Get ? null : new JsonObject();
        using var response = await SendAsync(method, apiPath, null, body, cancellationToken);
        if (!response.IsSuccess)
        {
            throw VaultErrors.FromResponse(method, apiPath, response.Status, response.Body);
        }
        if (!response.TryGet("data", out var data) || data.ValueKind != JsonValueKind.Object)
        {
            throw new SecretSourceException(SecretSourceError.NotFound, $"Vault {method.Method} /v1/{apiPath}: the answer carries no data");
        }
        var root = response.Body!.RootElement;
        var leaseId = VaultResponse.String(root, "lease_id") is { Length: > 0 } id ? id : null;
        var secret = new VaultLeasedSecret(leaseId, VaultResponse.Seconds(root, "lease_duration"), VaultResponse.Bool(root, "renewable"), new VaultSecretData(data));
        if (leaseId is not null)
        {
            VaultLog.LeaseIssued(_logger, leaseId, apiPath, secret.LeaseDuration, secret.Renewable);
        }
        return secret;
    }

    /// <summary>
    /// <c>PUT /v1/sys/leases/renew</c> <c>{lease_id, increment}</c>
    /// (developer.hashicorp.com/vault/api-docs/system/leases#renew-lease). A revoked, expired, unknown
    /// or non-renewable lease answers 400 "lease not found or lease is not renewable":
    /// <see cref="SecretSourceError.InvalidRequest"/>.
    /// </summary>
    public async Task<VaultLeaseRenewal> RenewLeaseAsync(string leaseId, TimeSpan? increment, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(leaseId);
        const string apiPath = "sys/leases/renew";
        var body = new JsonObject { ["lease_id"] = leaseId };
        if (increment is { } i && i > TimeSpan.Zero)
        {
            body["increment"] = (long)Math.Ceiling(i.TotalSeconds);
        }
        using var response = await SendAsync(HttpMethod.Put, apiPath, null, body, cancellationToken);
        if (response.Status != HttpStatusCode.OK || response.Body is null)
        {
            throw VaultErrors.FromResponse(HttpMethod.Put, apiPath, response.Status, response.Body, $"lease {leaseId}");
        }
        var root = response.Body.RootElement;
        var renewal = new VaultLeaseRenewal(
            VaultResponse.String(root, "lease_id") is { Length: > 0 } id ? id : leaseId,
            VaultResponse.Seconds(root, "lease_duration"),
            VaultResponse.Bool(root, "renewable"));
        VaultLog.LeaseRenewed(_logger, renewal.LeaseId, renewal.LeaseDuration, renewal.Renewable);
        return renewal;
    }

    /// <summary>
    /// <c>PUT /v1/sys/leases/revoke</c> <c>{lease_id}</c> → 204
    /// (developer.hashicorp.com/vault/api-docs/system/leases#revoke-lease). Revoking a lease that is
    /// already gone also answers 204.
    /// </summary>
    public async Task RevokeLeaseAsync(string leaseId, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(leaseId);
        const string apiPath = "sys/leases/revoke";
        using var response = await SendAsync(HttpMethod.Put, apiPath, null, new JsonObject { ["lease_id"] = leaseId }, cancellationToken);
        if (!response.IsSuccess)
        {
            throw VaultErrors.FromResponse(HttpMethod.Put, apiPath, response.Status, response.Body, $"lease {leaseId}");
        }
        VaultLog.LeaseRevoked(_logger, leaseId);
    }

    /// <summary>
    /// <c>GET /v1/sys/health</c> (unauthenticated, never retried: its status code is the answer;
    /// mapping in <see cref="VaultHealth"/>). An unreachable server throws
    /// <see cref="SecretSourceError.Unavailable"/>.
    /// </summary>
    public async Task<VaultHealth> HealthAsync(CancellationToken cancellationToken)
    {
        using var response = await SendOnceAsync(HttpMethod.Get, "sys/health", null, null, token: null, retry: false, cancellationToken);
        var root = response.Body?.RootElement;
        bool? Flag(string name) => root is { ValueKind: JsonValueKind.Object } r && r.TryGetProperty(name, out var v)
            && v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.ValueKind == JsonValueKind.True : null;
        var version = root is { } body ? VaultResponse.String(body, "version") : null;
        return VaultHealth.FromStatus((int)response.Status, Flag("initialized"), Flag("sealed"), version);
    }

    private static VaultKvMetadata ParseMetadata(JsonElement metadata)
    {
        var version = VaultResponse.TryGet(metadata, "version", out var v) && v.TryGetInt32(out var n) ? n : 0;
        IReadOnlyDictionary<string, string>? custom = null;
        if (VaultResponse.TryGet(metadata, "custom_metadata", out var c) && c.ValueKind == JsonValueKind.Object)
        {
            custom = c.EnumerateObject()
                .Where(p => p.Value.ValueKind == JsonValueKind.String)
                .ToDictionary(p => p.Name, p => p.Value.GetString()!, StringComparer.Ordinal);
        }
        return new VaultKvMetadata(
            version,
            VaultResponse.Time(metadata, "created_time"),
            VaultResponse.Time(metadata, "deletion_time"),
            VaultResponse.Bool(metadata, "destroyed"),
            custom);
    }

    public void Dispose() => _tokenGate.Dispose();
}
