namespace Fabric.Silo.Identity;

/// <summary>
/// The signing material of one trust domain's CA: its self-signed root certificate and the root's
/// private key (PKCS#8 "PRIVATE KEY"), both PEM. ToString hides the key.
/// </summary>
public sealed record CaMaterial(string TrustDomain, string CertificatePem, string PrivateKeyPem)
{
    public override string ToString() => $"CaMaterial(trustDomain={TrustDomain}, key=***)";
}
