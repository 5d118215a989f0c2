using System.Net;

namespace Fabric.Hosting;

/// <summary>
/// Cluster settings shared by silos and edges (section <c>Fabric:Cluster</c>; environment form
/// <c>Fabric__Cluster__GatewayPort</c> …). The embedded default is localhost clustering with
/// in-memory grain storage; <c>redis</c> clusters silos and edges through the Redis server named by
/// the connection string <c>ConnectionStrings:redis</c> and keeps every grain state there.
/// </summary>
public sealed class ClusterOptions
{
    public const string Section = "Fabric:Cluster";
    public const string Localhost = "localhost";
    public const string Redis = "redis";

    /// <summary>The connection string's name: <c>ConnectionStrings:redis</c> (Aspire's name for it too).</summary>
    public const string RedisConnectionName = "redis";

    public string Provider { get; set; } = Localhost;
    public int SiloPort { get; set; } = 11111;
    public int GatewayPort { get; set; } = 30000;
    public string ClusterId { get; set; } = "fabric";
    public string ServiceId { get; set; } = "fabric";

    /// <summary>The address a silo publishes in the membership table (redis only); 127.0.0.1 when unset.</summary>
    public string? AdvertisedIP { get; set; }

    /// <summary>Failure detection (redis only; localhost runs one silo and keeps Orleans' defaults).</summary>
    public MembershipTuning Membership { get; set; } = new();

    /// <summary>How long an edge retries a grain call rejected while a dead silo is being declared, before it fails closed.</summary>
    public TimeSpan CallRetryBudget { get; set; } = TimeSpan.FromSeconds(3);

    public bool IsRedis => string.Equals(Provider, Redis, StringComparison.OrdinalIgnoreCase);

    public bool IsLocalhost => string.Equals(Provider, Localhost, StringComparison.OrdinalIgnoreCase);

    /// <summary>The advertised address: <see cref="AdvertisedIP"/>, else loopback. Call after <see cref="Validate"/>.</summary>
    public IPAddress AdvertisedAddress() =>
        string.IsNullOrWhiteSpace(AdvertisedIP) ? IPAddress.Loopback : IPAddress.Parse(AdvertisedIP);

    /// <summary>
    /// Every problem with these settings, each naming its configuration key; empty when they are usable.
    /// The connection string is checked for presence only (its syntax belongs to the Redis client).
    /// </summary>
    public IReadOnlyList<string> Validate(string? redisConnectionString)
    {
        var errors = new List<string>();
        if (!IsLocalhost && !IsRedis)
        {
            errors.Add($"{Section}:Provider '{Provider}' is not supported: use '{Localhost}' (embedded, one silo, in-memory state) or '{Redis}' (with ConnectionStrings:{RedisConnectionName}).");
            return errors;
        }
        CheckPort(errors, nameof(SiloPort), SiloPort);
        CheckPort(errors, nameof(GatewayPort), GatewayPort);
        if (SiloPort == GatewayPort)
        {
            errors.Add($"{Section}:SiloPort and {Section}:GatewayPort must differ (both are {SiloPort}).");
        }
        if (string.IsNullOrWhiteSpace(ClusterId))
        {
            errors.Add($"{Section}:ClusterId must not be empty.");
        }
        if (string.IsNullOrWhiteSpace(ServiceId))
        {
            errors.Add($"{Section}:ServiceId must not be empty.");
        }
        if (CallRetryBudget < TimeSpan.Zero)
        {
            errors.Add($"{Section}:CallRetryBudget must not be negative.");
        }
        if (IsRedis)
        {
            if (string.IsNullOrWhiteSpace(redisConnectionString))
            {
                errors.Add($"{Section}:Provider is '{Redis}' but ConnectionStrings:{RedisConnectionName} is not set (e.g. ConnectionStrings__{RedisConnectionName}=127.0.0.1:6379).");
            }
            if (!string.IsNullOrWhiteSpace(AdvertisedIP) && !IPAddress.TryParse(AdvertisedIP, out _))
            {
                errors.Add($"{Section}:AdvertisedIP '{AdvertisedIP}' is not an IP address.");
            }
            Membership.Validate(errors);
        }
        return errors;
    }

    private static void CheckPort(List<string> errors, string key, int port)
    {
        if (port is < 1 or > 65535)
        {
            errors.Add($"{Section}:{key} must be a TCP port (1-65535), not {port}.");
        }
    }
}

/// <summary>
/// Membership settings (<c>Fabric:Cluster:Membership:*</c>), defaults tuned for fast failure detection:
/// measured here, a silo killed with SIGKILL is declared dead in ~1 s (Orleans' defaults: 12-31 s).
/// The price: a silo that stalls for longer than about ProbeTimeout × NumMissedProbesLimit (a long GC
/// pause, an overloaded host) is declared dead by a single vote and has to restart.
/// </summary>
public sealed class MembershipTuning
{
    public TimeSpan ProbeTimeout { get; set; } = TimeSpan.FromSeconds(1);
    public int NumMissedProbesLimit { get; set; } = 2;
    public int NumVotesForDeathDeclaration { get; set; } = 1;
    public TimeSpan TableRefreshTimeout { get; set; } = TimeSpan.FromSeconds(2);
    public TimeSpan IAmAliveTablePublishTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How often an edge re-reads the gateway list, so it learns of silos that joined (Orleans' default: 1 min).</summary>
    public TimeSpan GatewayListRefreshPeriod { get; set; } = TimeSpan.FromSeconds(5);

    internal void Validate(List<string> errors)
    {
        const string prefix = ClusterOptions.Section + ":Membership:";
        Positive(errors, prefix + nameof(ProbeTimeout), ProbeTimeout);
        Positive(errors, prefix + nameof(TableRefreshTimeout), TableRefreshTimeout);
        Positive(errors, prefix + nameof(IAmAliveTablePublishTimeout), IAmAliveTablePublishTimeout);
        Positive(errors, prefix + nameof(GatewayListRefreshPeriod), GatewayListRefreshPeriod);
        if (NumMissedProbesLimit < 1)
        {
            errors.Add($"{prefix}{nameof(NumMissedProbesLimit)} must be at least 1.");
        }
        if (NumVotesForDeathDeclaration < 1)
        {
            errors.Add($"{prefix}{nameof(NumVotesForDeathDeclaration)} must be at least 1.");
        }
    }

    private static void Positive(List<string> errors, string key, TimeSpan value)
    {
        if (value <= TimeSpan.Zero)
        {
            errors.Add($"{key} must be a positive time span (e.g. 00:00:01).");
        }
    }
}
