using Microsoft.Extensions.Configuration;
using StackExchange.Redis;

namespace Fabric.Hosting;

/// <summary>Reads the cluster settings silos and edges share, so both apply exactly the same rules.</summary>
public static class ClusterSettings
{
    /// <summary>Binds and validates <c>Fabric:Cluster</c>; every problem is reported at once, by key.</summary>
    public static ClusterOptions Read(IConfiguration configuration)
    {
        var cluster = configuration.GetSection(ClusterOptions.Section).Get<ClusterOptions>() ?? new ClusterOptions();
        var errors = cluster.Validate(configuration.GetConnectionString(ClusterOptions.RedisConnectionName));
        if (errors.Count > 0)
        {
            throw new InvalidOperationException("Invalid cluster configuration: " + string.Join(" ", errors));
        }
        return cluster;
    }

    /// <summary>
    /// Parses <c>ConnectionStrings:redis</c>. The error names the key and the client's complaint (a
    /// keyword or a malformed value), never the string itself: it may carry a password.
    /// </summary>
    public static ConfigurationOptions ParseRedis(IConfiguration configuration)
    {
        const string key = "ConnectionStrings:" + ClusterOptions.RedisConnectionName;
        ConfigurationOptions options;
        try
        {
            options = ConfigurationOptions.Parse(configuration.GetConnectionString(ClusterOptions.RedisConnectionName)!);
        }
        catch (ArgumentException ex)
        {
            throw new InvalidOperationException($"Invalid cluster configuration: {key} is not a valid Redis connection string: {ex.Message}", ex);
        }
        if (options.EndPoints.Count == 0)
        {
            throw new InvalidOperationException($"Invalid cluster configuration: {key} names no Redis endpoint (e.g. 127.0.0.1:6379).");
        }
        return options;
    }
}
