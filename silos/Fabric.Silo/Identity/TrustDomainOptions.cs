namespace Fabric.Silo.Identity;

/// <summary>The trust domain this fabric's CA issues SVIDs in (<c>Fabric:TrustDomain</c>).</summary>
public sealed class TrustDomainOptions
{
    public string TrustDomain { get; set; } = "fabric.local";
}
