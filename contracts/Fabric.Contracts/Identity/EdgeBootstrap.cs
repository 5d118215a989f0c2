using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Fabric.Contracts.Identity;

/// <summary>
/// The wire of edge node attestation (issue 10 §1), shared by the silo's bootstrap endpoint and the edge.
/// <code>
///  admin ── POST /v1/join-tokens ──► JoinDocument (token, bootstrap URL, CA pin)   or the local 0600 file
///  edge  ── GET  /bootstrap/v1/bundle                        keeps the root whose SHA-256 is the pin
///  edge  ── POST /bootstrap/v1/join  {token, edgeName, csr}  TLS: silo SVID chaining to that root
///        ◄─ SvidGrant {spiffeId, certificatePem, bundlePem, expiresAt}           the key never leaves the edge
///  edge  ── POST /bootstrap/v1/renew {csr}                   mTLS with its current SVID, before 2/3 of its life
/// </code>
/// </summary>
public static class EdgeBootstrap
{
    public const string JoinPath = "/bootstrap/v1/join";
    /// <summary>The trust bundle (PEM), public: read first, over unauthenticated TLS, and trusted only for the root matching the pin.</summary>
    public const string BundlePath = "/bootstrap/v1/bundle";
    public const string RenewPath = "/bootstrap/v1/renew";

    /// <summary>The join document a silo keeps in its data directory for edges on the same machine (the embedded default).</summary>
    public const string LocalJoinFileName = "edge-join.json";

    /// <summary>The largest request body the bootstrap endpoint reads.</summary>
    public const int MaxBodyBytes = 16 * 1024;

    /// <summary>The CA pin: lower-case hex SHA-256 of the root certificate's DER.</summary>
    public static string CaPin(X509Certificate2 root) => Convert.ToHexStringLower(SHA256.HashData(root.RawData));

    /// <summary>The certificate among <paramref name="candidates"/> whose pin is <paramref name="pin"/>, if any.</summary>
    public static X509Certificate2? FindPinned(IEnumerable<X509Certificate2> candidates, string pin) =>
        candidates.FirstOrDefault(c => CryptographicOperations.FixedTimeEquals(
            System.Text.Encoding.ASCII.GetBytes(CaPin(c)), System.Text.Encoding.ASCII.GetBytes(pin.ToLowerInvariant())));
}

/// <summary>
/// What an edge needs to join: the single-use token and where and whom to present it to. The answer of
/// <c>POST /v1/join-tokens</c>, and the content of the embedded default's <c>edge-join.json</c>.
/// </summary>
public sealed record JoinDocument(
    string TokenId,
    string Token,
    string? EdgeName,
    DateTimeOffset ExpiresAt,
    string TrustDomain,
    string BootstrapUrl,
    string CaSha256)
{
    public override string ToString() => $"JoinDocument(id={TokenId}, edge={EdgeName ?? "*"}, token=***)";
}

public sealed record JoinRequest(string? Token, string? EdgeName, string? Csr, IReadOnlyList<string>? DnsNames, IReadOnlyList<string>? IpAddresses)
{
    public override string ToString() => $"JoinRequest(edge={EdgeName}, token=***)";
}

public sealed record RenewRequest(string? Csr, IReadOnlyList<string>? DnsNames, IReadOnlyList<string>? IpAddresses);

/// <summary>An SVID signed for the edge's own key, and the bundle to validate silos with. All public.</summary>
public sealed record SvidGrant(string SpiffeId, string CertificatePem, string BundlePem, DateTimeOffset ExpiresAt);
