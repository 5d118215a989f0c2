namespace Fabric.Edge.Identity;

/// <summary>
/// How the edge joins the cluster (section <c>Fabric:Edge:Join</c>): a join token with the bootstrap URL and
/// CA pin (the three values of <c>POST /v1/join-tokens</c>), or a join document file (that answer as JSON;
/// default <c>&lt;data dir&gt;/edge-join.json</c>, which a silo on this machine keeps fresh).
/// </summary>
public sealed class EdgeJoinOptions
{
    public const string Section = "Fabric:Edge:Join";

    /// <summary>A join token (<c>fjt1.…</c>); needs <see cref="BootstrapUrl"/> and <see cref="CaSha256"/>.</summary>
    public string? Token { get; set; }

    public string? BootstrapUrl { get; set; }

    /// <summary>The SHA-256 (hex) of the cluster's root certificate: the bootstrap endpoint must chain to it.</summary>
    public string? CaSha256 { get; set; }

    /// <summary>A join document (JSON); used when no <see cref="Token"/> is configured.</summary>
    public string? File { get; set; }
}
