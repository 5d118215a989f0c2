using Fabric.Contracts.Identity;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace Fabric.Silo.Secrets.Vault;

/// <summary>
/// The primary handler of the Vault <c>HttpClient</c>: no proxy, no cookies, no automatic redirects
/// (a redirect would carry <c>X-Vault-Token</c> to wherever it points; standbys forward requests to
/// the active node themselves), and, when <see cref="VaultOptions.CaFile"/> is set, the server
/// certificate is trusted through that bundle only (the official client's <c>VAULT_CACERT</c>
/// replaces the root pool the same way). The host name is always checked.
/// </summary>
internal static class VaultHttpHandler
{
    public static SocketsHttpHandler Create(VaultOptions options)
    {
        var handler = new SocketsHttpHandler
        {
            UseProxy = false,
            UseCookies = false,
            AllowAutoRedirect = false,
            ConnectTimeout = TimeSpan.FromSeconds(10),
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        };
        if (!string.IsNullOrWhiteSpace(options.CaFile))
        {
            var roots = LoadCaBundle(options.CaFile);
            handler.SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, certificate, chain, errors) =>
                    CustomRootTrust.IsTrustedServer(certificate, chain, errors, roots),
            };
        }
        return handler;
    }

    public static X509Certificate2Collection LoadCaBundle(string path)
    {
        var bundle = new X509Certificate2Collection();
        bundle.ImportFromPemFile(path);
        return bundle;
    }
}
