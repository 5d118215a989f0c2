namespace Fabric.Contracts.Grains;

/// <summary>
/// A federated trust domain (key = its name): where its SPIFFE bundle endpoint is and how to authenticate it, and
/// the last good bundle fetched from it. It refreshes at the endpoint's hint (clamped to 30 s – 1 h), never accepts a
/// sequence that goes backwards, keeps the last good bundle when a fetch fails, and pushes every change to edges.
/// </summary>
[Alias("fabric.ITrustDomainGrain")]
public interface ITrustDomainGrain : IGrainWithStringKey
{
    /// <summary>Sets (or replaces) the federation and fetches at once; the status says whether that fetch succeeded.</summary>
    [Alias("Configure")]
    ValueTask<FederationStatus> ConfigureAsync(FederationConfig config);

    [Alias("Remove")]
    ValueTask<bool> RemoveAsync();

    [Alias("Status")]
    [AlwaysInterleave]
    ValueTask<FederationStatus?> GetStatusAsync();

    /// <summary>The last good bundle, or null when the domain is not federated (or never answered).</summary>
    [Alias("Bundle")]
    [AlwaysInterleave]
    ValueTask<FederatedBundle?> GetBundleAsync();

    [Alias("Refresh")]
    ValueTask<FederationStatus?> RefreshAsync();
}

/// <summary>The federated trust domains (key "default"), for listings and an edge's start.</summary>
[Alias("fabric.IFederationDirectoryGrain")]
public interface IFederationDirectoryGrain : IGrainWithStringKey
{
    [Alias("Add")]
    ValueTask AddAsync(string trustDomain);

    [Alias("Remove")]
    ValueTask RemoveAsync(string trustDomain);

    [Alias("List")]
    ValueTask<IReadOnlyList<string>> ListAsync();
}

[GenerateSerializer, Alias("fabric.federation-profile")]
public enum FederationProfile
{
    /// <summary>The endpoint has a Web PKI certificate (system trust, host name checked).</summary>
    HttpsWeb = 0,
    /// <summary>The endpoint presents an X509-SVID with <see cref="FederationConfig.EndpointSpiffeId"/>, validated with the domain's own bundle.</summary>
    HttpsSpiffe = 1,
}

[GenerateSerializer, Immutable, Alias("fabric.federation-config")]
public sealed record FederationConfig(
    [property: Id(0)] string BundleEndpointUrl,
    [property: Id(1)] FederationProfile Profile,
    [property: Id(2)] string? EndpointSpiffeId,
    [property: Id(3)] string? BootstrapBundlePem);

[GenerateSerializer, Immutable, Alias("fabric.federated-bundle")]
public sealed record FederatedBundle(
    [property: Id(0)] string TrustDomain,
    [property: Id(1)] long Sequence,
    [property: Id(2)] string X509Pem,
    [property: Id(3)] IReadOnlyList<Fabric.Contracts.Identity.JwtKey> JwtKeys);

[GenerateSerializer, Immutable, Alias("fabric.federation-status")]
public sealed record FederationStatus(
    [property: Id(0)] string TrustDomain,
    [property: Id(1)] string BundleEndpointUrl,
    [property: Id(2)] string Profile,
    [property: Id(3)] long? Sequence,
    [property: Id(4)] DateTimeOffset? LastRefresh,
    [property: Id(5)] DateTimeOffset? NextRefresh,
    [property: Id(6)] string? LastError,
    [property: Id(7)] int X509Authorities,
    [property: Id(8)] int JwtAuthorities,
    [property: Id(9)] string? EndpointSpiffeId = null,
    [property: Id(10)] string? BootstrapBundle = null);
