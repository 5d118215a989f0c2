using System.Security.Cryptography;
using System.Text;
using Fabric.Silo.Hosting;

namespace Fabric.Silo.Apis;

/// <summary>
/// The management API's admin token: <c>FABRIC_ADMIN_TOKEN</c> (or <c>Fabric:AdminToken</c>), else
/// generated at first start into <c>&lt;data dir&gt;/admin-token</c> (0600) and its location logged.
/// Held only as a SHA-256 digest, compared in fixed time.
/// </summary>
public sealed class AdminToken
{
    private readonly byte[] _digest;

    private AdminToken(string token, string? file)
    {
        _digest = SHA256.HashData(Encoding.UTF8.GetBytes(token));
        File = file;
    }

    /// <summary>Where the generated token was stored; null when it came from configuration.</summary>
    public string? File { get; }

    public static AdminToken FromConfiguration(IConfiguration configuration)
    {
        var configured = configuration["FABRIC_ADMIN_TOKEN"] ?? configuration["Fabric:AdminToken"];
        if (!string.IsNullOrWhiteSpace(configured))
        {
            return new AdminToken(configured.Trim(), null);
        }
        var path = Path.Combine(FabricDataDirectory.Resolve(configuration), "admin-token");
        var token = FabricDataDirectory.ReadOrCreatePrivateFile(path, () => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32)));
        return new AdminToken(token, path);
    }

    public bool Matches(ReadOnlySpan<char> presented)
    {
        Span<byte> digest = stackalloc byte[32];
        var bytes = Encoding.UTF8.GetBytes(presented.ToArray());
        SHA256.HashData(bytes, digest);
        return CryptographicOperations.FixedTimeEquals(digest, _digest);
    }
}
