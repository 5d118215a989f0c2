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
    private readonly ConcurrentDictionary<string, (byte[] Hash, Issued Issued)> _issued = new(StringComparer.Ordinal);

    /// <summary>
    /// One process's credential. <see cref="Parent"/> names the agent call the process is working on, where the edge
    /// knows it (a per-workload launched server): the exact parent of the process's outbound calls.
    /// </summary>
    public sealed class Issued(string user, string password, SpiffeId identity)
    {
        private Func<Guid?>? _parent;

        public string User { get; } = user;

        public string Password { get; } = password;

        public SpiffeId Identity { get; } = identity;

        public Guid? Parent => _parent?.Invoke();

        /// <summary>The one agent the process serves (a per-workload launched server), or null.</summary>
        public SpiffeId? Agent { get; private set; }

        /// <summary>
        /// Ties the credential's calls to <paramref name="agent"/>, the only agent its process serves, and to what
        /// <paramref name="parent"/> says the process is working on.
        /// </summary>
        public void Attribute(SpiffeId agent, Func<Guid?> parent) => (Agent, _parent) = (agent, parent);

        public override string ToString() => $"ProxyCredential({User}, {Identity}, password=***)";
    }

    public Issued Issue(SpiffeId identity)
    {
        var user = "p-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
        var password = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var issued = new Issued(user, password, identity);
        _issued[user] = (SHA256.HashData(Encoding.ASCII.GetBytes(password)), issued);
        return issued;
    }

    public void Revoke(string? user)
    {
        if (user is not null)
        {
            _issued.TryRemove(user, out _);
        }
    }

    /// <summary>The credential a <c>Proxy-Authorization: Basic …</c> value presents, or null.</summary>
    public Issued? Find(string? proxyAuthorization)
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
        return CryptographicOperations.FixedTimeEquals(offered, entry.Hash) ? entry.Issued : null;
    }
}
