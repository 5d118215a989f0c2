using System.Net;
using System.Text.Json.Nodes;

namespace Fabric.Silo.Secrets.Vault;

/// <summary>
/// The client token's life. <c>token</c> auth: the configured token, its TTL learnt once from
/// <c>auth/token/lookup-self</c>. <c>approle</c> auth: a lazy login at
/// <c>auth/&lt;mount&gt;/login</c>. Either way, at 2/3 of the TTL a renewable token is renewed with
/// <c>auth/token/renew-self</c>; an AppRole token that cannot be renewed (or whose renewal fails) is
/// replaced by a new login before it ends. Times come from the injected <see cref="TimeProvider"/>.
/// </summary>
public sealed partial class VaultClient
{
    private readonly SemaphoreSlim _tokenGate = new(1, 1);
    private VaultTokenState? _token;

    /// <summary>
    /// <c>POST /v1/auth/&lt;mount&gt;/login</c> <c>{role_id, secret_id}</c> → <c>auth.client_token</c>,
    /// <c>auth.lease_duration</c>, <c>auth.renewable</c> (developer.hashicorp.com/vault/api-docs/auth/approle#login-with-approle).
    /// The new token becomes the client's. Refused credentials (400 "invalid role or secret ID", 403)
    /// are <see cref="SecretSourceError.Forbidden"/>.
    /// </summary>
    public async Task<VaultAuthToken> LoginAppRoleAsync(CancellationToken cancellationToken)
    {
        await _tokenGate.WaitAsync(cancellationToken);
        try
        {
            var auth = await LoginCoreAsync(cancellationToken);
            _token = new VaultTokenState(auth.ClientToken, _time.GetUtcNow(), auth.LeaseDuration, auth.Renewable);
            return auth;
        }
        finally
        {
            _tokenGate.Release();
        }
    }

    /// <summary>
    /// <c>POST /v1/auth/token/renew-self</c> (developer.hashicorp.com/vault/api-docs/auth/token#renew-a-token-self):
    /// extends the client token and restarts its TTL clock.
    /// </summary>
    public async Task<VaultAuthToken> RenewSelfAsync(CancellationToken cancellationToken)
    {
        await GetTokenAsync(cancellationToken);
        await _tokenGate.WaitAsync(cancellationToken);
        try
        {
            var current = _token ?? throw new SecretSourceException(SecretSourceError.Unavailable, "no Vault token to renew");
            var auth = await RenewSelfCoreAsync(current.Value, cancellationToken);
            _token = current.Renewed(_time.GetUtcNow(), auth.LeaseDuration, auth.Renewable);
            return auth;
        }
        finally
        {
            _tokenGate.Release();
        }
    }

    /// <summary><c>GET /v1/auth/token/lookup-self</c> (developer.hashicorp.com/vault/api-docs/auth/token#lookup-a-token-self).</summary>
    public async Task<VaultTokenInfo> LookupSelfAsync(CancellationToken cancellationToken)
    {
        var token = await GetTokenAsync(cancellationToken);
        return await LookupSelfCoreAsync(token.Value, cancellationToken);
    }

    /// <summary>When the client token will be renewed or replaced, and when it ends (null: it does not).</summary>
    internal (DateTimeOffset? RefreshAt, DateTimeOffset? ExpiresAt, bool Renewable)? TokenSchedule =>
        _token is { } t ? (t.RefreshAt, t.ExpiresAt, t.Renewable) : null;

    private async Task<VaultTokenState> GetTokenAsync(CancellationToken cancellationToken)
    {
        var current = Volatile.Read(ref _token);
        if (current is not null && current.Next(_time.GetUtcNow()) == VaultTokenAction.Use)
        {
            return current;
        }

        await _tokenGate.WaitAsync(cancellationToken);
        try
        {
            current = _token;
            var now = _time.GetUtcNow();
            if (current is null)
            {
                _token = _options.UsesAppRole ? await LoginStateAsync(cancellationToken) : await ConfiguredTokenStateAsync(cancellationToken);
                return _token;
            }
            switch (current.Next(now))
            {
                case VaultTokenAction.Use:
                    return current;
                case VaultTokenAction.Renew:
                    try
                    {
                        var auth = await RenewSelfCoreAsync(current.Value, cancellationToken);
                        _token = current.Renewed(_time.GetUtcNow(), auth.LeaseDuration, auth.Renewable);
                        VaultLog.TokenRenewed(_logger, auth.LeaseDuration, _token.Renewable);
                        return _token;
                    }
                    catch (SecretSourceException e) when (e.Error != SecretSourceError.Unavailable)
                    {
                        // Refused (revoked, past its max TTL): an AppRole client logs in again; a
                        // configured token is used as it is until Vault says otherwise.
                        VaultLog.TokenRenewFailed(_logger, e.Error, e.Message, _options.UsesAppRole ? "logging in again" : "using the token until it expires");
                        _token = _options.UsesAppRole ? await LoginStateAsync(cancellationToken) : current.NotRenewable();
                        return _token;
                    }
                default:
                    if (!_options.UsesAppRole)
                    {
                        return current;
                    }
                    _token = await LoginStateAsync(cancellationToken);
                    return _token;
            }
        }
        finally
        {
            _tokenGate.Release();
        }
    }

    /// <summary>Drops <paramref name="stale"/> unless another caller already replaced it.</summary>
    private void ForgetToken(VaultTokenState stale) => Interlocked.CompareExchange(ref _token, null, stale);

    private async Task<VaultTokenState> LoginStateAsync(CancellationToken cancellationToken)
    {
        var auth = await LoginCoreAsync(cancellationToken);
        return new VaultTokenState(auth.ClientToken, _time.GetUtcNow(), auth.LeaseDuration, auth.Renewable);
    }

    private async Task<VaultTokenState> ConfiguredTokenStateAsync(CancellationToken cancellationToken)
    {
        var token = _options.Token ?? throw new SecretSourceException(SecretSourceError.Forbidden, "no Vault token is configured");
        try
        {
            var info = await LookupSelfCoreAsync(token, cancellationToken);
            VaultLog.TokenLookedUp(_logger, info.Ttl, info.Renewable);
            return new VaultTokenState(token, _time.GetUtcNow(), info.Ttl, info.Renewable);
        }
        catch (SecretSourceException e) when (e.Error is SecretSourceError.Forbidden or SecretSourceError.NotFound)
        {
            // A token created without the default policy may not look itself up. Use it untracked:
            // if it is simply wrong, the request it is for fails with Forbidden just the same.
            VaultLog.TokenLookupRefused(_logger, e.Message);
            return new VaultTokenState(token, _time.GetUtcNow(), TimeSpan.Zero, renewable: false);
        }
    }

    private async Task<VaultAuthToken> LoginCoreAsync(CancellationToken cancellationToken)
    {
        var mount = ApiPath(_options.MountPath, "AppRole mount");
        var apiPath = $"auth/{mount}/login";
        var body = new JsonObject { ["role_id"] = _options.RoleId, ["secret_id"] = _options.SecretId };
        using var response = await SendOnceAsync(HttpMethod.Post, apiPath, null, body, token: null, retry: true, cancellationToken);
        if (response.Status == HttpStatusCode.BadRequest || response.Status == HttpStatusCode.Forbidden)
        {
            // Vault answers a wrong role_id/secret_id with 400; to the fabric it is its own credentials being refused.
            throw new SecretSourceException(SecretSourceError.Forbidden,
                $"Vault AppRole login at /v1/{apiPath} refused: {VaultErrors.Describe(response.Body) ?? ((int)response.Status).ToString(System.Globalization.CultureInfo.InvariantCulture)}");
        }
        var auth = ParseAuth(response, HttpMethod.Post, apiPath);
        VaultLog.LoggedIn(_logger, mount, auth.LeaseDuration, auth.Renewable);
        return auth;
    }

    private async Task<VaultAuthToken> RenewSelfCoreAsync(string token, CancellationToken cancellationToken)
    {
        const string apiPath = "auth/token/renew-self";
        using var response = await SendOnceAsync(HttpMethod.Post, apiPath, null, new JsonObject(), token, retry: true, cancellationToken);
        return ParseAuth(response, HttpMethod.Post, apiPath);
    }

    private async Task<VaultTokenInfo> LookupSelfCoreAsync(string token, CancellationToken cancellationToken)
    {
        const string apiPath = "auth/token/lookup-self";
        using var response = await SendOnceAsync(HttpMethod.Get, apiPath, null, null, token, retry: true, cancellationToken);
        if (response.Status != HttpStatusCode.OK || !response.TryGet("data", out var data))
        {
            throw VaultErrors.FromResponse(HttpMethod.Get, apiPath, response.Status, response.Body);
        }
        return new VaultTokenInfo(
            VaultResponse.Seconds(data, "ttl"),
            VaultResponse.Bool(data, "renewable"),
            VaultResponse.Strings(data, "policies"),
            VaultResponse.Time(data, "expire_time"));
    }

    private static VaultAuthToken ParseAuth(VaultResponse response, HttpMethod method, string apiPath)
    {
        if (response.Status != HttpStatusCode.OK || !response.TryGet("auth", out var auth)
            || VaultResponse.String(auth, "client_token") is not { Length: > 0 } clientToken)
        {
            throw response.IsSuccess
                ? new SecretSourceException(SecretSourceError.InvalidRequest, $"Vault {method.Method} /v1/{apiPath}: the answer carries no auth.client_token")
                : VaultErrors.FromResponse(method, apiPath, response.Status, response.Body);
        }
        return new VaultAuthToken(clientToken, VaultResponse.Seconds(auth, "lease_duration"), VaultResponse.Bool(auth, "renewable"), VaultResponse.Strings(auth, "policies"));
    }
}
