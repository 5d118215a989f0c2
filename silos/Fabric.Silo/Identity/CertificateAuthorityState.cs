using Fabric.Silo.Secrets;

namespace Fabric.Silo.Identity;

/// <summary>
/// The persisted CA of one trust domain. The private key is persisted with the grain state, as
/// the design asks, but encrypted (AES-256-GCM under the local store key, the trust domain as
/// associated data): grain storage that leaves the process (Redis) never holds it in clear.
/// </summary>
[GenerateSerializer, Alias("fabric.certificate-authority-state")]
public sealed class CertificateAuthorityState
{
    [Id(0)] public string RootCertificatePem { get; set; } = string.Empty;
    [Id(1)] public EncryptedValue? RootPrivateKey { get; set; }
    [Id(2)] public DateTimeOffset CreatedAt { get; set; }

    public bool HasRoot => RootCertificatePem.Length > 0 && RootPrivateKey is not null;

    /// <summary>Associated data binding the encrypted key to its trust domain.</summary>
    public static string KeyContext(string trustDomain) => "ca:" + trustDomain;

    public override string ToString() => $"CertificateAuthorityState(createdAt={CreatedAt:O}, key=***)";
}
