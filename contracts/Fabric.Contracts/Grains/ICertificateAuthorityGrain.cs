namespace Fabric.Contracts.Grains;

/// <summary>The CA of one trust domain (key = trust domain name). Its key is persisted with its state.</summary>
[Alias("fabric.ICertificateAuthorityGrain")]
public interface ICertificateAuthorityGrain : IGrainWithStringKey
{
    /// <summary>The trust bundle of this trust domain as PEM (public).</summary>
    [Alias("GetBundle")]
    ValueTask<string> GetBundlePemAsync();

    /// <summary>Issues an X.509-SVID with a fresh key pair.</summary>
    [Alias("Issue")]
    ValueTask<IssuedSvid> IssueAsync(SvidRequest request);
}

[GenerateSerializer, Immutable, Alias("fabric.svid-request")]
public sealed record SvidRequest(
    [property: Id(0)] string SpiffeId,
    [property: Id(1)] TimeSpan Ttl,
    [property: Id(2)] IReadOnlyList<string> DnsNames,
    [property: Id(3)] IReadOnlyList<string> IpAddresses);

/// <summary>A certificate, its private key and the trust bundle, all PEM. ToString hides the key.</summary>
[GenerateSerializer, Immutable, Alias("fabric.issued-svid")]
public sealed class IssuedSvid
{
    [Id(0)] public required string CertificatePem { get; init; }
    [Id(1)] public required string PrivateKeyPem { get; init; }
    [Id(2)] public required string BundlePem { get; init; }
    [Id(3)] public required DateTimeOffset ExpiresAt { get; init; }

    public override string ToString() => $"IssuedSvid(expires={ExpiresAt:O}, key=***)";
}
