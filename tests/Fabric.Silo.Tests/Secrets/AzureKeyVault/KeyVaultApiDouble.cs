using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Security.KeyVault.Secrets;
using Fabric.Silo.Secrets.AzureKeyVault;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Fabric.Silo.Tests.Secrets.AzureKeyVault;

/// <summary>
/// The secrets part of the Azure Key Vault data-plane REST API on real Kestrel over HTTPS (127.0.0.1,
/// port 0, self-signed certificate), for the real <see cref="SecretClient"/> to talk to. Shapes follow:
/// <list type="bullet">
/// <item>"Get Secret" (learn.microsoft.com/rest/api/keyvault/secrets/get-secret/get-secret):
///   <c>GET {vaultBaseUrl}/secrets/{secret-name}/{secret-version}?api-version=…</c>, version optional
///   (latest), <c>api-version</c> required; 200 → SecretBundle
///   <c>{ value, id, contentType?, tags?, attributes: { enabled, nbf?, exp?, created, updated, recoveryLevel } }</c>
///   with unix-seconds times; errors → KeyVaultError <c>{ "error": { code, message, innererror? } }</c>.</item>
/// <item>"Azure Key Vault authentication" / "Authentication, requests and responses"
///   (learn.microsoft.com/azure/key-vault/general/authentication): a request without an accepted token
///   gets 401 and <c>WWW-Authenticate: Bearer authorization="{Entra authority}/{tenant}", resource="https://vault.azure.net"</c>;
///   afterwards <c>Authorization: Bearer &lt;token&gt;</c>.</item>
/// <item>"Azure Key Vault REST API Error Codes" (learn.microsoft.com/azure/key-vault/general/rest-error-codes):
///   401 <c>AKV10000</c> missing token; 403 Forbidden when the identity has no <c>secrets/get</c>
///   (innererror <c>ForbiddenByPolicy</c>); 429 Too Many Requests.</item>
/// <item>"Azure Key Vault throttling guidance" (learn.microsoft.com/azure/key-vault/general/overview-throttling):
///   429 with <c>Retry-After</c>.</item>
/// <item>Service behaviour documented in the SDKs' issue trackers (Azure/azure-sdk-for-js#24756,
///   Azure/azure-powershell#15378): GET of a disabled secret → 403 <c>Forbidden</c> "Operation get is not allowed
///   on a disabled secret." with innererror <c>SecretDisabled</c>; nbf/exp are not enforced by the service.</item>
/// </list>
/// Every double has its own host name (<c>kv-N.vault.test</c>), resolved to the loopback port by the
/// client's connect callback: the SDK caches a vault's challenge per authority for the whole process, so a
/// fresh authority is what makes each test see the challenge flow. That name is not under
/// <c>vault.azure.net</c>, which is why clients need <c>DisableChallengeResourceVerification</c>.
/// </summary>
public sealed class KeyVaultApiDouble : IAsyncDisposable
{
    public const string TenantId = "f3b1c6a2-8d47-4e0b-9a53-2c7e1d9f0a64";
    public const string Resource = "https://vault.azure.net";
    public const string Authority = "https://login.microsoftonline.com/" + TenantId;
    public const string RecoveryLevel = "Recoverable+Purgeable";

    private static readonly Lazy<X509Certificate2> SharedCertificate = new(CreateCertificate);
    private static int s_instances;

    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, List<StoredVersion>> _secrets = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentQueue<SeenRequest> _requests = new();
    private readonly TimeProvider _time;
    private readonly string _pin;
    private int _port;
    private int _throttleRemaining;

    private KeyVaultApiDouble(WebApplication app, TimeProvider time, string host)
    {
        _app = app;
        _time = time;
        _pin = SharedCertificate.Value.GetCertHashString(HashAlgorithmName.SHA256);
        Host = host;
    }

    /// <summary>The vault's own name for itself; connections go to 127.0.0.1:<see cref="Port"/>.</summary>
    public string Host { get; }

    public int Port => _port;

    public Uri VaultUri => new($"https://{Host}:{_port}/");

    /// <summary>The token requests must carry after the challenge.</summary>
    public string ExpectedToken { get; set; } = FakeTokenCredential.DefaultToken;

    /// <summary>The caller's identity lacks <c>secrets/get</c>: every authenticated request gets 403.</summary>
    public bool ForbidAll { get; set; }

    /// <summary>
    /// Not the service's behaviour (it refuses disabled secrets with 403 <c>SecretDisabled</c>): returns
    /// the bundle with <c>enabled: false</c> instead, to prove the source checks the attribute itself.
    /// </summary>
    public bool ServeDisabledBundles { get; set; }

    /// <summary>A hung vault: requests are accepted and never answered (until the client gives up).</summary>
    public bool Stall { get; set; }

    /// <summary>Seconds sent in <c>Retry-After</c> with a 429.</summary>
    public int RetryAfterSeconds { get; set; } = 1;

    public IReadOnlyList<SeenRequest> Requests => [.. _requests];

    public static async Task<KeyVaultApiDouble> StartAsync(TimeProvider? time = null)
    {
        var host = $"kv-{Interlocked.Increment(ref s_instances)}-{Environment.ProcessId}.vault.test";
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel =>
            kestrel.Listen(IPAddress.Loopback, 0, listen => listen.UseHttps(SharedCertificate.Value)));
        var app = builder.Build();
        var vault = new KeyVaultApiDouble(app, time ?? TimeProvider.System, host);
        app.Run(vault.HandleAsync);
        await app.StartAsync();
        vault._port = new Uri(app.Urls.First()).Port;
        return vault;
    }

    /// <summary>Adds a new version (the latest from now on) and returns its version id (32 hex, like the service).</summary>
    public string SetSecret(string name, string value, bool enabled = true, DateTimeOffset? notBefore = null,
        DateTimeOffset? expires = null, string? contentType = null, IReadOnlyDictionary<string, string>? tags = null)
    {
        var version = Guid.NewGuid().ToString("N");
        var versions = _secrets.GetOrAdd(name, _ => []);
        lock (versions)
        {
            versions.Add(new StoredVersion(version, value, enabled, notBefore, expires, _time.GetUtcNow(), contentType, tags));
        }
        return version;
    }

    /// <summary>The next <paramref name="count"/> authenticated requests get 429 with <see cref="RetryAfterSeconds"/>.</summary>
    public void Throttle(int count) => Interlocked.Exchange(ref _throttleRemaining, count);

    /// <summary>
    /// A client as the silo builds it (<see cref="AzureKeyVaultClientFactory.CreateClientOptions"/>), with
    /// <c>DisableChallengeResourceVerification</c> and a transport that reaches this double and trusts
    /// only its certificate.
    /// </summary>
    public SecretClient CreateClient(TokenCredential credential)
    {
        var options = AzureKeyVaultClientFactory.CreateClientOptions();
        options.DisableChallengeResourceVerification = true;
        options.Transport = new HttpClientTransport(CreateHandler());
        return new SecretClient(VaultUri, credential, options);
    }

    /// <summary>Connects every request to 127.0.0.1:<see cref="Port"/> and pins the double's certificate.</summary>
    public SocketsHttpHandler CreateHandler()
    {
        var port = _port;
        var pin = _pin;
        var handler = new SocketsHttpHandler
        {
            UseProxy = false,
            AllowAutoRedirect = false,
            ConnectCallback = async (_, cancellationToken) =>
            {
                var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    await socket.ConnectAsync(IPAddress.Loopback, port, cancellationToken);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };
        handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, _) =>
            certificate is not null && certificate.GetCertHashString(HashAlgorithmName.SHA256) == pin;
        return handler;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        var authorization = request.Headers.Authorization.ToString();
        var apiVersion = request.Query["api-version"].ToString();
        _requests.Enqueue(new SeenRequest(request.Method, request.Path.Value ?? "", apiVersion,
            authorization.Length == 0 ? null : authorization));

        if (Stall)
        {
            await Task.Delay(Timeout.Infinite, context.RequestAborted).ContinueWith(_ => { }, TaskScheduler.Default);
            return;
        }

        // Authentication comes first: the challenge is how a client learns where to get a token.
        if (authorization != "Bearer " + ExpectedToken)
        {
            context.Response.Headers.WWWAuthenticate = $"Bearer authorization=\"{Authority}\", resource=\"{Resource}\"";
            await ErrorAsync(context, 401, "Unauthorized",
                authorization.Length == 0 ? "AKV10000: Request is missing a Bearer or PoP token." : "AKV10032: Invalid issuer.");
            return;
        }
        if (apiVersion.Length == 0)
        {
            // Get Secret: "api-version — query — Required: True". The wording of this message is the double's own.
            await ErrorAsync(context, 400, "BadParameter", "The 'api-version' query parameter is required.");
            return;
        }
        if (ForbidAll)
        {
            await ErrorAsync(context, 403, "Forbidden",
                $"The user, group or application 'appid=00000000-0000-0000-0000-000000000000;oid=…' does not have secrets get permission on key vault '{Host};location=westeurope'.",
                "ForbiddenByPolicy");
            return;
        }
        if (Interlocked.Decrement(ref _throttleRemaining) >= 0)
        {
            context.Response.Headers.RetryAfter = RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            await ErrorAsync(context, 429, "Throttled", "Request was not processed because too many requests were received.");
            return;
        }
        Interlocked.Increment(ref _throttleRemaining);

        var segments = (request.Path.Value ?? "").Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (segments.Length is < 2 or > 3 || segments[0] != "secrets")
        {
            await ErrorAsync(context, 404, "NotFound", "The requested resource was not found.");
            return;
        }
        if (!HttpMethods.IsGet(request.Method))
        {
            await ErrorAsync(context, 405, "MethodNotAllowed", $"The HTTP method '{request.Method}' is not supported by this double.");
            return;
        }
        await GetSecretAsync(context, segments[1], segments.Length == 3 ? segments[2] : null);
    }

    private async Task GetSecretAsync(HttpContext context, string name, string? version)
    {
        StoredVersion? found = null;
        if (_secrets.TryGetValue(name, out var versions))
        {
            lock (versions)
            {
                found = version is null ? versions.LastOrDefault() : versions.FirstOrDefault(v => v.Version == version);
            }
        }
        if (found is null)
        {
            await ErrorAsync(context, 404, "SecretNotFound",
                $"A secret with (name/id) {name}{(version is null ? "" : "/" + version)} was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182");
            return;
        }
        if (!found.Enabled && !ServeDisabledBundles)
        {
            await ErrorAsync(context, 403, "Forbidden", "Operation get is not allowed on a disabled secret.", "SecretDisabled");
            return;
        }

        var attributes = new JsonObject
        {
            ["enabled"] = found.Enabled,
            ["created"] = found.Created.ToUnixTimeSeconds(),
            ["updated"] = found.Created.ToUnixTimeSeconds(),
            ["recoveryLevel"] = RecoveryLevel,
            ["recoverableDays"] = 90,
        };
        if (found.NotBefore is { } nbf)
        {
            attributes["nbf"] = nbf.ToUnixTimeSeconds();
        }
        if (found.Expires is { } exp)
        {
            attributes["exp"] = exp.ToUnixTimeSeconds();
        }
        var bundle = new JsonObject
        {
            ["value"] = found.Value,
            ["id"] = $"https://{context.Request.Host}/secrets/{name}/{found.Version}",
            ["attributes"] = attributes,
        };
        if (found.ContentType is { } contentType)
        {
            bundle["contentType"] = contentType;
        }
        if (found.Tags is { } tags)
        {
            var tagObject = new JsonObject();
            foreach (var (key, value) in tags)
            {
                tagObject[key] = value;
            }
            bundle["tags"] = tagObject;
        }
        context.Response.StatusCode = 200;
        context.Response.ContentType = "application/json; charset=utf-8";
        await context.Response.WriteAsync(bundle.ToJsonString());
    }

    /// <summary>KeyVaultError: <c>{ "error": { "code", "message", "innererror"?: { "code" } } }</c>.</summary>
    private static Task ErrorAsync(HttpContext context, int status, string code, string message, string? innerCode = null)
    {
        var error = new JsonObject { ["code"] = code, ["message"] = message };
        if (innerCode is not null)
        {
            error["innererror"] = new JsonObject { ["code"] = innerCode };
        }
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json; charset=utf-8";
        return context.Response.WriteAsync(new JsonObject { ["error"] = error }.ToJsonString());
    }

    private static X509Certificate2 CreateCertificate()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=Key Vault API double", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("*.vault.test");
        names.AddDnsName("localhost");
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false));
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(7));
        // Round-trip through PKCS#12 so the private key is a persisted one SslStream can use on every platform.
        return X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pfx), null);
    }

    public sealed record SeenRequest(string Method, string Path, string ApiVersion, string? Authorization);

    private sealed record StoredVersion(string Version, string Value, bool Enabled, DateTimeOffset? NotBefore,
        DateTimeOffset? Expires, DateTimeOffset Created, string? ContentType, IReadOnlyDictionary<string, string>? Tags);
}
