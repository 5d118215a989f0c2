using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Fabric.Silo.Secrets;

/// <summary>
/// Checks every configured secret source and reports each one by name in the result data, so
/// <c>/health</c> shows which source is failing. A failing source degrades the silo rather than
/// marking it unhealthy: leases keep serving until their expiry and other sources are unaffected.
/// </summary>
public sealed class SecretSourcesHealthCheck(SecretSourceRegistry sources) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var results = await Task.WhenAll(sources.All.Select(s => CheckAsync(s, cancellationToken)));
        var data = results.ToDictionary(r => r.Source, r => (object)(r.Healthy ? "healthy" : "failing: " + r.Detail));
        var failing = results.Where(r => !r.Healthy).Select(r => r.Source).ToArray();
        return failing.Length == 0
            ? HealthCheckResult.Healthy("all secret sources reachable", data)
            : HealthCheckResult.Degraded("failing secret sources: " + string.Join(", ", failing), data: data);
    }

    /// <summary>One source's health, a failure to answer within 5 s (or at all) reported as failing rather than thrown.</summary>
    public static async Task<SecretSourceHealth> CheckAsync(ISecretSource source, CancellationToken cancellationToken)
    {
        try
        {
            return await source.CheckHealthAsync(cancellationToken).WaitAsync(TimeSpan.FromSeconds(5), cancellationToken);
        }
        catch (Exception ex) when (ex is SecretSourceException or TimeoutException or HttpRequestException)
        {
            return new SecretSourceHealth(source.Source, false, ex.Message);
        }
    }
}
