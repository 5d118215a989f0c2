using Fabric.Contracts.Hosting;
using Fabric.Silo.Apis;
using Fabric.Silo.Grains;
using Fabric.Silo.Identity;
using Fabric.Silo.Secrets;
using Fabric.Silo.Secrets.AzureKeyVault;
using Fabric.Silo.Secrets.Vault;

namespace Fabric.Silo.Hosting;

public static class SiloHostingExtensions
{
    /// <summary>
    /// The Orleans silo with the fabric's grains: localhost clustering and in-memory storage by
    /// default (no external service needed), ports and ids from <c>Fabric:Cluster</c>.
    /// </summary>
    public static WebApplicationBuilder AddFabricSilo(this WebApplicationBuilder builder)
    {
        var cluster = builder.Configuration.GetSection(ClusterOptions.Section).Get<ClusterOptions>() ?? new ClusterOptions();
        if (!string.Equals(cluster.Provider, "localhost", StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidOperationException(
                $"Fabric:Cluster:Provider '{cluster.Provider}' is not supported yet; use 'localhost'.");
        }

        builder.UseOrleans(silo =>
        {
            silo.UseLocalhostClustering(cluster.SiloPort, cluster.GatewayPort, serviceId: cluster.ServiceId, clusterId: cluster.ClusterId);
            silo.AddMemoryGrainStorage(GrainStorage.Name);
        });

        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton(sp => LocalSecretProtector.FromConfiguration(sp.GetRequiredService<IConfiguration>()));
        builder.Services.Configure<LeaseOptions>(builder.Configuration.GetSection("Fabric:Secrets:Leases"));
        builder.Services.AddSingleton<ISecretSource, LocalSecretSource>();
        builder.Services.AddVaultSecretSources(builder.Configuration);
        builder.Services.AddAzureKeyVaultSecretSource(builder.Configuration);
        builder.Services.AddSingleton<SecretSourceRegistry>();
        builder.Services.AddHealthChecks().Add(new Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckRegistration(
            "secret-sources",
            sp => new SecretSourcesHealthCheck(sp.GetRequiredService<SecretSourceRegistry>()),
            failureStatus: null,
            tags: ["ready"]));
        builder.Services.Configure<AuditOptions>(builder.Configuration.GetSection("Fabric:Audit"));
        builder.Services.Configure<TrustDomainOptions>(builder.Configuration.GetSection("Fabric"));
        return builder;
    }
}
