using System.Net;
using System.Net.Http.Json;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;

namespace Fabric.Edge.Identity;

/// <summary>
/// The edge's side of node attestation (<see cref="EdgeBootstrap"/>). The key is generated here and never
/// leaves the process: the silo sees a CSR. The token is sent only to a server that proved, in the TLS
/// handshake, to hold a silo SVID chaining to the pinned root; a renewal trusts the current bundle instead.
/// </summary>
internal static class BootstrapClient
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    /// <summary>An SVID and its key, as the edge holds them.</summary>
    public sealed record Issued(SpiffeId Id, X509Certificate2 Certificate, TrustBundleSet Bundles, DateTimeOffset ExpiresAt);

    /// <summary>A refusal by the bootstrap endpoint, with its stable reason code.</summary>
    public sealed class RefusedException(HttpStatusCode status, string? reason, string? detail)
        : Exception($"the bootstrap endpoint refused ({(int)status} {reason ?? "no reason"}): {detail}")
    {
        public HttpStatusCode Status { get; } = status;
        public string? Reason { get; } = reason;
    }

    public static async Task<Issued> JoinAsync(JoinDocument join, string edgeName, string[] dnsNames, string[] ipAddresses, TimeProvider time, CancellationToken cancellationToken)
    {
        var bootstrap = new Uri(join.BootstrapUrl);
        if (bootstrap.Scheme != Uri.UriSchemeHttps)
        {
            throw new InvalidOperationException($"the bootstrap URL must be https, not '{join.BootstrapUrl}'");
        }
        var root = await FetchPinnedRootAsync(bootstrap, join.CaSha256, cancellationToken);
        var bundles = TrustBundleSet.Empty.With(join.TrustDomain, [root]);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var http = Client(bundles, join.TrustDomain, clientCertificate: null, time);
        var request = new JoinRequest(join.Token, edgeName, Csr(key, edgeName), dnsNames, ipAddresses);
        using var response = await http.PostAsJsonAsync(new Uri(bootstrap, EdgeBootstrap.JoinPath), request, Json, cancellationToken);
        return await ReadGrantAsync(response, key, join.TrustDomain, root, cancellationToken);
    }

    public static async Task<Issued> RenewAsync(Uri bootstrap, NodeIdentity.Snapshot current, string[] dnsNames, string[] ipAddresses, TimeProvider time, CancellationToken cancellationToken)
    {
        var trustDomain = current.Id.TrustDomain;
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var http = Client(current.Bundles, trustDomain, current.Certificate, time);
        var request = new RenewRequest(Csr(key, current.Id.Path), dnsNames, ipAddresses);
        using var response = await http.PostAsJsonAsync(new Uri(bootstrap, EdgeBootstrap.RenewPath), request, Json, cancellationToken);
        current.Bundles.TryGet(trustDomain, out var roots);
        return await ReadGrantAsync(response, key, trustDomain, roots![0], cancellationToken);
    }

    // The bundle is public and self-verifying against the pin, so this one read needs no server
    // authentication: whatever answers, only a root whose SHA-256 is the pin is kept.
    private static async Task<X509Certificate2> FetchPinnedRootAsync(Uri bootstrap, string pin, CancellationToken cancellationToken)
    {
#pragma warning disable CA5359 // See above: nothing read here is trusted unless it matches the pin; the token is not sent.
        using var handler = new SocketsHttpHandler { SslOptions = { RemoteCertificateValidationCallback = (_, _, _, _) => true } };
#pragma warning restore CA5359
        using var http = new HttpClient(handler) { Timeout = Timeout };
        var pem = await http.GetStringAsync(new Uri(bootstrap, EdgeBootstrap.BundlePath), cancellationToken);
        return EdgeBootstrap.FindPinned(SvidPem.LoadCertificates(pem).Cast<X509Certificate2>(), pin)
            ?? throw new RefusedException(HttpStatusCode.OK, "ca-pin-mismatch", $"no root served by {bootstrap} has the pinned SHA-256 {pin}: not this cluster's bootstrap endpoint");
    }

    private static HttpClient Client(TrustBundleSet bundles, string trustDomain, X509Certificate2? clientCertificate, TimeProvider time)
    {
        var handler = new SocketsHttpHandler
        {
            ConnectTimeout = TimeSpan.FromSeconds(5),
            SslOptions = new SslClientAuthenticationOptions
            {
                // The server must hold a silo SVID of this trust domain: the SPIFFE rules, never WebPKI or host names.
                RemoteCertificateValidationCallback = (_, certificate, _, _) =>
                    certificate is X509Certificate2 leaf
                    && X509SvidValidator.Validate(leaf, null, bundles, time.GetUtcNow()) is { IsValid: true } validation
                    && FabricNodes.Is(validation.Id!, trustDomain, FabricRole.Silo),
                ClientCertificates = clientCertificate is null ? null : [clientCertificate],
            },
        };
        return new HttpClient(handler, disposeHandler: true) { Timeout = Timeout };
    }

    private static string Csr(ECDsa key, string subject)
    {
        var name = new X500DistinguishedNameBuilder();
        name.AddOrganizationName("SPIFFE");
        name.AddCommonName(subject.Trim('/'));
        return new CertificateRequest(name.Build(), key, HashAlgorithmName.SHA256).CreateSigningRequestPem();
    }

    private static async Task<Issued> ReadGrantAsync(HttpResponseMessage response, ECDsa key, string trustDomain, X509Certificate2 root, CancellationToken cancellationToken)
    {
        if (!response.IsSuccessStatusCode)
        {
            string? reason = null, detail = null;
            try
            {
                using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
                reason = problem.RootElement.TryGetProperty("reason", out var r) ? r.GetString() : null;
                detail = problem.RootElement.TryGetProperty("detail", out var d) ? d.GetString() : null;
            }
            catch (JsonException)
            {
            }
            throw new RefusedException(response.StatusCode, reason, detail);
        }
        var grant = await response.Content.ReadFromJsonAsync<SvidGrant>(Json, cancellationToken)
            ?? throw new InvalidOperationException("the bootstrap endpoint answered an empty grant");
        var usable = SvidPem.LoadCertificate(grant.CertificatePem, key.ExportPkcs8PrivateKeyPem());
        var bundles = TrustBundleSet.FromPem(trustDomain, grant.BundlePem);
        if (!bundles.TryGet(trustDomain, out var roots) || EdgeBootstrap.FindPinned(roots.Cast<X509Certificate2>(), EdgeBootstrap.CaPin(root)) is null)
        {
            throw new InvalidOperationException("the granted bundle does not hold the root the bootstrap endpoint was trusted by");
        }
        var validation = X509SvidValidator.Validate(usable, null, bundles, DateTimeOffset.UtcNow);
        if (!validation.IsValid || validation.Id!.ToString() != grant.SpiffeId)
        {
            throw new InvalidOperationException($"the granted SVID does not validate as {grant.SpiffeId}: {validation.Error}");
        }
        return new Issued(validation.Id, usable, bundles, grant.ExpiresAt);
    }
}
