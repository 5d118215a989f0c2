namespace Fabric.Silo.Secrets;

/// <summary>How lease grains pace themselves (section <c>Fabric:Secrets:Leases</c>).</summary>
public sealed class LeaseOptions
{
    /// <summary>How long a local secret is handed out before it is re-read.</summary>
    public TimeSpan LocalRefresh { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>Renew (or replace) a lease when this fraction of its lifetime has passed.</summary>
    public double RenewAt { get; set; } = 2.0 / 3.0;

    /// <summary>First and largest wait between attempts while a source is failing (no tight loops).</summary>
    public TimeSpan RetryMin { get; set; } = TimeSpan.FromSeconds(1);
    public TimeSpan RetryMax { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>A lease is never handed out for less than this before its end.</summary>
    public TimeSpan MinRemaining { get; set; } = TimeSpan.FromSeconds(5);
}
