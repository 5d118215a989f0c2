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
