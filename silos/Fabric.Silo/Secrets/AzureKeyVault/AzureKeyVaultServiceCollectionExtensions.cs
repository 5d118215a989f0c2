using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Fabric.Silo.Secrets.AzureKeyVault;

public static class AzureKeyVaultServiceCollectionExtensions
{
    /// <summary>
    /// Registers the <c>azure-keyvault</c> <see cref="ISecretSource"/> when <c>Fabric:Secrets:AzureKeyVault:Uri</c>
    /// is set; otherwise does nothing (bindings to it then fail as an unknown source). The options are
    /// validated when the host starts, so a half-configured vault stops the silo with a clear message.
    /// </summary>
    public static IServiceCollection AddAzureKeyVaultSecretSource(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);

        var section = configuration.GetSection(AzureKeyVaultOptions.Section);
        if (string.IsNullOrWhiteSpace(section["Uri"]))
        {
            return services;
        }

        var setup = new AzureKeyVaultOptionsSetup();
        services.AddOptions<AzureKeyVaultOptions>().Bind(section).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IPostConfigureOptions<AzureKeyVaultOptions>>(setup));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<AzureKeyVaultOptions>>(setup));
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(sp => new AzureKeyVaultSecretSource(
            sp.GetRequiredService<IOptions<AzureKeyVaultOptions>>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<AzureKeyVaultSecretSource>>()));
        services.AddSingleton<ISecretSource>(sp => sp.GetRequiredService<AzureKeyVaultSecretSource>());
        return services;
    }
}
