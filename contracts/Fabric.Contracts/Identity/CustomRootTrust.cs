using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace Fabric.Contracts.Identity;

/// <summary>
/// Chain building against a given set of roots only (never the system store), without revocation
/// checks: how every party in the fabric trusts a private CA (the fabric's bundle, a Vault CA file).
/// </summary>
public static class CustomRootTrust
{
    /// <summary>The extended key usage of a TLS server certificate (RFC 5280 §4.2.1.12).</summary>
    public static readonly System.Security.Cryptography.Oid ServerAuth = new("1.3.6.1.5.5.7.3.1");

    /// <summary>
    /// A TLS server as a Web PKI client checks it, with a private PKI: a certificate must be presented and name the host
    /// (neither is negotiable), and only the chain is judged again, against <paramref name="roots"/> instead of the
    /// system store (the intermediates the server sent included). For a Vault CA file, an egress target's
    /// <c>tls.caFile</c>, a federation endpoint's configured Web PKI roots.
    /// </summary>
    public static bool IsTrustedServer(X509Certificate? certificate, X509Chain? presented, SslPolicyErrors errors, X509Certificate2Collection roots,
        System.Security.Cryptography.Oid? requiredUsage = null)
    {
        if (certificate is not X509Certificate2 leaf || roots.Count == 0
            || (errors & (SslPolicyErrors.RemoteCertificateNameMismatch | SslPolicyErrors.RemoteCertificateNotAvailable)) != 0)
        {
            return false;
        }
        var intermediates = new X509Certificate2Collection();
        if (presented is not null)
        {
            foreach (var element in presented.ChainElements)
            {
                intermediates.Add(element.Certificate);
            }
        }
        return Chains(leaf, roots, intermediates, requiredUsage);
    }

    /// <param name="requiredUsage">An extended key usage the chain must allow (e.g. <see cref="ServerAuth"/>), as Web PKI clients require.</param>
    public static bool Chains(X509Certificate2? certificate, X509Certificate2Collection roots, X509Certificate2Collection? intermediates = null,
        System.Security.Cryptography.Oid? requiredUsage = null)
    {
        if (certificate is null)
        {
            return false;
        }
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(roots);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        if (requiredUsage is not null)
        {
            chain.ChainPolicy.ApplicationPolicy.Add(requiredUsage);
        }
        if (intermediates is not null)
        {
            chain.ChainPolicy.ExtraStore.AddRange(intermediates);
        }
        return chain.Build(certificate);
    }
}
