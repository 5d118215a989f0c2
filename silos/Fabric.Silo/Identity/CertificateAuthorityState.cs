namespace Fabric.Silo.Identity;

/// <summary>
/// The persisted CA of one trust domain. The private key is stored with the grain state as the
/// issue asks; storage that leaves the process (Redis) should encrypt it at rest.
/// </summary>
[GenerateSerializer, Alias("fabric.certificate-authority-state")]
public sealed class CertificateAuthorityState
{
    [Id(0)] public string RootCertificatePem { get; set; } = string.Empty;
    [Id(1)] public string RootPrivateKeyPem { get; set; } = string.Empty;
    [Id(2)] public DateTimeOffset CreatedAt { get; set; }

    public bool HasRoot => RootCertificatePem.Length > 0 && RootPrivateKeyPem.Length > 0;

    public override string ToString() => $"CertificateAuthorityState(createdAt={CreatedAt:O}, key=***)";
}
