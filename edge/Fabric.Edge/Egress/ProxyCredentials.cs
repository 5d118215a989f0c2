using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;

namespace Fabric.Edge.Egress;

/// <summary>
/// The per-process proxy credentials of the plain-HTTP egress listener (issue 11 §3): a server the edge launches gets
/// one in its <c>HTTPS_PROXY</c> URL (user and password), valid only on this edge, for that process's lifetime (revoked
/// when it ends), and only as that server's identity. Only a SHA-256 of each password is kept; comparison is fixed-time.
/// </summary>
internal sealed class ProxyCredentials
{
    private readonly ConcurrentDictionary<string, (byte[] Hash, SpiffeId Identity)> _issued = new(StringComparer.Ordinal);

    public sealed record Issued(string User, string Password, SpiffeId Identity)
    {
        public override string ToString() => $"ProxyCredential({User}, {Identity}, password=***)";
    }

    public Issued Issue(SpiffeId identity)
    {
        var user = "p-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
        var password = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        _issued[user] = (SHA256.HashData(Encoding.ASCII.GetBytes(password)), identity);
        return new Issued(user, password, identity);
    }

    public void Revoke(string user) => _issued.TryRemove(user, out _);

    /// <summary>The identity a <c>Proxy-Authorization: Basic …</c> value stands for, or null.</summary>
    public SpiffeId? Validate(string? proxyAuthorization)
    {
        if (proxyAuthorization is null || !proxyAuthorization.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }
        string decoded;
        try
        {
            decoded = Encoding.ASCII.GetString(Convert.FromBase64String(proxyAuthorization["Basic ".Length..].Trim()));
        }
        catch (FormatException)
        {
            return null;
        }
        var colon = decoded.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0 || !_issued.TryGetValue(decoded[..colon], out var entry))
        {
            return null;
        }
        var offered = SHA256.HashData(Encoding.ASCII.GetBytes(decoded[(colon + 1)..]));
        return CryptographicOperations.FixedTimeEquals(offered, entry.Hash) ? entry.Identity : null;
    }
}
