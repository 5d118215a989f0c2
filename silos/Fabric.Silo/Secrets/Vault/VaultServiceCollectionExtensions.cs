using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Fabric.Silo.Secrets.Vault;

public static class VaultServiceCollectionExtensions
{
    /// <summary>
    /// Registers the <c>vault-kv</c> and <c>vault-dynamic</c> <see cref="ISecretSource"/>s when
    /// <c>Fabric:Secrets:Vault:Address</c> is set; otherwise does nothing (bindings to them then fail
    /// as an unknown source). <see cref="VaultOptions"/> are validated when the host starts. The
    /// named <see cref="VaultClient.HttpClientName"/> client gets <see cref="VaultHttpHandler"/> as its
    /// primary handler and <see cref="VaultRetryPolicy"/> as its resilience pipeline.
    /// </summary>
    public static IServiceCollection AddVaultSecretSources(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);

        var section = configuration.GetSection(VaultOptions.Section);
        if (string.IsNullOrWhiteSpace(section["Address"]))
        {
            return services;
        }

        services.AddOptions<VaultOptions>().Bind(section).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<VaultOptions>, VaultOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);

        services.AddHttpClient(VaultClient.HttpClientName, http =>
            {
                // The resilience pipeline bounds each call (VaultOptions.Timeout, retries included).
                http.Timeout = Timeout.InfiniteTimeSpan;
                http.MaxResponseContentBufferSize = 1024 * 1024;
            })
            // X-Vault-Token is a credential: no header value of this client is ever logged (not left
            // to the framework default, which a host could change).
            .RedactLoggedHeaders(_ => true)
            .ConfigurePrimaryHttpMessageHandler(sp => VaultHttpHandler.Create(sp.GetRequiredService<IOptions<VaultOptions>>().Value))
            .AddResilienceHandler("retry", (pipeline, context) =>
                VaultRetryPolicy.Configure(pipeline, context.ServiceProvider.GetRequiredService<IOptions<VaultOptions>>().Value));

        services.TryAddSingleton<VaultClient>();
        services.TryAddSingleton<VaultKvSecretSource>();
        services.TryAddSingleton<VaultDynamicSecretSource>();
        services.AddSingleton<ISecretSource>(sp => sp.GetRequiredService<VaultKvSecretSource>());
        services.AddSingleton<ISecretSource>(sp => sp.GetRequiredService<VaultDynamicSecretSource>());
        return services;
    }
}
