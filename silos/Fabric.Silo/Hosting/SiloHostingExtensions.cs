using Fabric.Silo.Audit;
using Fabric.Silo.Bootstrap;
using Fabric.Hosting;
using Fabric.Silo.Apis;
using Fabric.Silo.Grains;
using Fabric.Silo.Identity;
using Fabric.Silo.Secrets;
using Fabric.Silo.Secrets.AzureKeyVault;
using Fabric.Silo.Secrets.Vault;
using Orleans.Dashboard;

namespace Fabric.Silo.Hosting;

public static class SiloHostingExtensions
{
    /// <summary>
    /// The Orleans silo with the fabric's grains: localhost clustering and in-memory storage by
    /// default (no external service needed), or Redis for both (see <see cref="SiloClustering"/>);
    /// ports and ids from <c>Fabric:Cluster</c>.
    /// </summary>
    public static WebApplicationBuilder AddFabricSilo(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton(TimeProvider.System);
        // The silo's SVID comes first: no Orleans link opens without it (hosted services start in order).
        builder.Services.Configure<SiloNodeOptions>(builder.Configuration.GetSection("Fabric:Silo"));
        builder.Services.AddSingleton<NodeIdentity>();
        builder.Services.AddSingleton<LinkPeers>();
        builder.Services.AddHostedService<SiloIdentityService>();

        // Clustering and storage by Fabric:Cluster:Provider (localhost | redis); validated here, at startup.
        // Every link TLS with SVIDs both ways (SiloLinks).
        builder.UseOrleans(silo =>
        {
            silo.UseFabricClustering(builder.Configuration).UseFabricLinkTls();
            if (Fabric.Silo.Console.ConsoleHosting.DashboardEnabled(builder.Configuration))
            {
                // The Orleans Dashboard's grains and counters (served at /dashboard behind the console's sign-in): no live
                // log stream; its counters sampled every 5 s rather than every second (each sample walks the activations).
                silo.AddDashboard(o =>
                {
                    o.HideTrace = true;
                    o.CounterUpdateIntervalMs = 5000;
                });
            }
        });

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
        builder.Services.AddFabricAudit(builder.Configuration);
        builder.Services.AddCaStore(builder.Configuration);
        // After the silo (hosted services start in registration order): revocations, then the bootstrap endpoint.
        builder.Services.AddHostedService<EdgeRevocationWatcher>();
        builder.Services.AddHostedService<CaWatcher>();
        builder.Services.Configure<BootstrapOptions>(builder.Configuration.GetSection(BootstrapOptions.Section));
        builder.Services.AddSingleton<JoinTokenIssuer>();
        builder.Services.AddSingleton<LocalJoinFile>();
        builder.Services.AddSingleton<BootstrapEndpoints>();
        builder.Services.AddHostedService<BootstrapServer>();
        builder.Services.AddSingleton<WebBundleEndpoint>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<WebBundleEndpoint>());
        builder.Services.Configure<TrustDomainOptions>(builder.Configuration.GetSection("Fabric"));
        builder.Services.Configure<ServerOptions>(builder.Configuration.GetSection("Fabric:Servers"));
        builder.Services.Configure<Fabric.Silo.Approvals.ApprovalOptions>(builder.Configuration.GetSection(Fabric.Silo.Approvals.ApprovalOptions.Section));
        builder.Services.AddHttpClient(Fabric.Silo.Approvals.ApprovalWebhook.HttpClientName);
        builder.Services.AddSingleton<Fabric.Silo.Approvals.ApprovalWebhook>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<Fabric.Silo.Approvals.ApprovalWebhook>());
        return builder;
    }
}
