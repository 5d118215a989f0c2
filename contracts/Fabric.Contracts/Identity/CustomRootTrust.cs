using System.Security.Cryptography.X509Certificates;

namespace Fabric.Contracts.Identity;

/// <summary>
/// Chain building against a given set of roots only (never the system store), without revocation
/// checks: how every party in the fabric trusts a private CA (the fabric's bundle, a Vault CA file).
/// </summary>
public static class CustomRootTrust
{
    public static bool Chains(X509Certificate2? certificate, X509Certificate2Collection roots, X509Certificate2Collection? intermediates = null)
    {
        if (certificate is null)
        {
            return false;
        }
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(roots);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        if (intermediates is not null)
        {
            chain.ChainPolicy.ExtraStore.AddRange(intermediates);
        }
        return chain.Build(certificate);
    }
}
