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
                    IsTrusted(certificate as X509Certificate2, chain, errors, roots),
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

    private static bool IsTrusted(X509Certificate2? certificate, X509Chain? presented, SslPolicyErrors errors, X509Certificate2Collection roots)
    {
        // The name check and the presence of a certificate are not negotiable; only the chain is
        // judged again, against the configured roots instead of the system store.
        if (certificate is null || (errors & (SslPolicyErrors.RemoteCertificateNameMismatch | SslPolicyErrors.RemoteCertificateNotAvailable)) != 0)
        {
            return false;
        }
        // A private Vault CA rarely publishes CRLs/OCSP; the official client does not check revocation either.
        var intermediates = new X509Certificate2Collection();
        if (presented is not null)
        {
            foreach (var element in presented.ChainElements)
            {
                intermediates.Add(element.Certificate);
            }
        }
        return CustomRootTrust.Chains(certificate, roots, intermediates);
    }
}
