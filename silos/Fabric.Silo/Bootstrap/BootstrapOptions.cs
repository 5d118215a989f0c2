namespace Fabric.Silo.Bootstrap;

/// <summary>The edge bootstrap endpoint (section <c>Fabric:Bootstrap</c>).</summary>
public sealed class BootstrapOptions
{
    public const string Section = "Fabric:Bootstrap";

    /// <summary>Where the HTTPS bootstrap endpoint listens (an IP literal or <c>localhost</c>; port 0 picks one).</summary>
    public string Url { get; set; } = "https://127.0.0.1:5443";

    /// <summary>The URL edges are told to use, when it differs from <see cref="Url"/> (a load balancer, a routable name).</summary>
    public string? AdvertisedUrl { get; set; }

    /// <summary>Lifetime of the SVIDs the endpoint signs for edges; edges renew at two thirds.</summary>
    public TimeSpan EdgeSvidTtl { get; set; } = TimeSpan.FromHours(24);

    /// <summary>
    /// Keep a fresh, single-use, any-name join token in <c>&lt;data dir&gt;/edge-join.json</c> (0600), replaced
    /// after each use: the zero-configuration join of an edge on the same machine. Default: on with
    /// localhost clustering, off with redis.
    /// </summary>
    public bool? LocalJoinFile { get; set; }

    /// <summary>The <c>spiffe_refresh_hint</c> the SPIFFE bundle endpoint publishes for federated domains.</summary>
    public TimeSpan FederationRefreshHint { get; set; } = TimeSpan.FromMinutes(5);
}
