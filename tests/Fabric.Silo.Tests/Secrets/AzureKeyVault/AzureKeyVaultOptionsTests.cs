using Fabric.Silo.Secrets;
using Fabric.Silo.Secrets.AzureKeyVault;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Fabric.Silo.Tests.Secrets.AzureKeyVault;

public sealed class AzureKeyVaultOptionsTests
{
    private const string Vault = "https://fabric-test.vault.azure.net/";

    /// <summary>Rows: settings under Fabric:Secrets:AzureKeyVault, environment, and the key every failure must name (null = valid).</summary>
    public static TheoryData<string, string?> Rows => new()
    {
        { $"Uri={Vault}", null },
        { $"Uri={Vault};Credential=default;ClientId=11111111-1111-1111-1111-111111111111", null },
        { $"Uri={Vault};Credential=client-secret;TenantId=t;ClientId=c;ClientSecret=s", null },
        { $"Uri={Vault};Credential=Client-Secret;TenantId=t;ClientId=c;ClientSecret=s", null },
        { $"Uri={Vault};Credential=client-secret;ClientId=c;ClientSecret=s", "Fabric:Secrets:AzureKeyVault:TenantId" },
        { $"Uri={Vault};Credential=client-secret;TenantId=t;ClientSecret=s", "Fabric:Secrets:AzureKeyVault:ClientId" },
        { $"Uri={Vault};Credential=client-secret;TenantId=t;ClientId=c", "Fabric:Secrets:AzureKeyVault:ClientSecret" },
        { $"Uri={Vault};Credential=workload-identity;TenantId=t;ClientId=c;TokenFilePath=/var/run/token", null },
        { $"Uri={Vault};Credential=workload-identity;env:AZURE_TENANT_ID=t;env:AZURE_CLIENT_ID=c;env:AZURE_FEDERATED_TOKEN_FILE=/f", null },
        { $"Uri={Vault};Credential=workload-identity;TenantId=t;ClientId=c", "Fabric:Secrets:AzureKeyVault:TokenFilePath" },
        { $"Uri={Vault};Credential=workload-identity;ClientId=c;TokenFilePath=/f", "Fabric:Secrets:AzureKeyVault:TenantId" },
        { $"Uri={Vault};Credential=managed", "Fabric:Secrets:AzureKeyVault:Credential" },
        { "Uri=http://fabric-test.vault.azure.net/", "Fabric:Secrets:AzureKeyVault:Uri" },
        { "Uri=fabric-test.vault.azure.net", "Fabric:Secrets:AzureKeyVault:Uri" },
        { $"Uri={Vault};AuthorityHost=http://login.example/", "Fabric:Secrets:AzureKeyVault:AuthorityHost" },
        { $"Uri={Vault};RefreshInterval=00:00:00", "Fabric:Secrets:AzureKeyVault:RefreshInterval" },
    };

    [Theory]
    [MemberData(nameof(Rows))]
    public void Validation_names_the_key_to_fix(string settings, string? failingKey)
    {
        var (configuration, environment) = Parse(settings);
        using var services = Services(configuration, environment);

        if (failingKey is null)
        {
            var options = services.GetRequiredService<IOptions<AzureKeyVaultOptions>>().Value;
            Assert.Equal(new Uri(Vault), options.Uri);
        }
        else
        {
            var e = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IOptions<AzureKeyVaultOptions>>().Value);
            Assert.Contains(failingKey, e.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Client_secret_without_tenant_says_which_key_is_missing()
    {
        var failure = new AzureKeyVaultOptionsSetup(_ => null).Validate(null, new AzureKeyVaultOptions
        {
            Uri = new Uri(Vault),
            Credential = AzureKeyVaultCredentialKinds.ClientSecret,
            ClientId = "c",
            ClientSecret = "s",
        });

        Assert.True(failure.Failed);
        Assert.Equal("Fabric:Secrets:AzureKeyVault:TenantId is required when Credential is client-secret.", Assert.Single(failure.Failures!));
    }

    [Fact]
    public void Token_file_defaults_from_AZURE_FEDERATED_TOKEN_FILE()
    {
        var options = new AzureKeyVaultOptions { Uri = new Uri(Vault), Credential = "workload-identity", TenantId = "t", ClientId = "c" };
        new AzureKeyVaultOptionsSetup(name => name == "AZURE_FEDERATED_TOKEN_FILE" ? "/var/run/secrets/azure/tokens/azure-identity-token" : null)
            .PostConfigure(null, options);

        Assert.Equal("/var/run/secrets/azure/tokens/azure-identity-token", options.TokenFilePath);
    }

    [Fact]
    public void Defaults_are_the_default_credential_and_five_minutes()
    {
        var options = new AzureKeyVaultOptions();

        Assert.Equal("default", options.Credential);
        Assert.Equal(TimeSpan.FromMinutes(5), options.RefreshInterval);
    }

    [Fact]
    public void The_client_secret_is_not_in_the_options_text()
    {
        var options = new AzureKeyVaultOptions { Uri = new Uri(Vault), ClientSecret = "client-secret-canary-42" };

        Assert.DoesNotContain("client-secret-canary-42", options.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Without_a_uri_no_source_is_registered()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Fabric:Secrets:AzureKeyVault:Credential"] = "client-secret",
        }).Build();
        var services = new ServiceCollection().AddLogging().AddAzureKeyVaultSecretSource(configuration);

        using var provider = services.BuildServiceProvider();

        Assert.Empty(provider.GetServices<ISecretSource>());
    }

    [Theory]
    [InlineData("default")]
    [InlineData("client-secret")]
    [InlineData("workload-identity")]
    public void With_a_uri_the_source_is_registered_with_each_credential(string credential)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Fabric:Secrets:AzureKeyVault:Uri"] = Vault,
            ["Fabric:Secrets:AzureKeyVault:Credential"] = credential,
            ["Fabric:Secrets:AzureKeyVault:TenantId"] = "f3b1c6a2-8d47-4e0b-9a53-2c7e1d9f0a64",
            ["Fabric:Secrets:AzureKeyVault:ClientId"] = "0b5e2c7a-1d3f-4a6b-8c9d-e0f1a2b3c4d5",
            ["Fabric:Secrets:AzureKeyVault:ClientSecret"] = "not-a-real-secret",
            ["Fabric:Secrets:AzureKeyVault:TokenFilePath"] = "/var/run/token",
            ["Fabric:Secrets:AzureKeyVault:RefreshInterval"] = "00:01:00",
        }).Build();
        var services = new ServiceCollection().AddLogging().AddAzureKeyVaultSecretSource(configuration);

        using var provider = services.BuildServiceProvider();
        var source = Assert.Single(provider.GetServices<ISecretSource>());

        Assert.Equal("azure-keyvault", source.Source);
        Assert.Equal(TimeSpan.FromMinutes(1), provider.GetRequiredService<IOptions<AzureKeyVaultOptions>>().Value.RefreshInterval);
    }

    private static (IConfiguration Configuration, Dictionary<string, string> Environment) Parse(string settings)
    {
        var values = new Dictionary<string, string?>();
        var environment = new Dictionary<string, string>();
        foreach (var pair in settings.Split(';'))
        {
            var (key, value) = (pair[..pair.IndexOf('=', StringComparison.Ordinal)], pair[(pair.IndexOf('=', StringComparison.Ordinal) + 1)..]);
            if (key.StartsWith("env:", StringComparison.Ordinal))
            {
                environment[key[4..]] = value;
            }
            else
            {
                values[$"{AzureKeyVaultOptions.Section}:{key}"] = value;
            }
        }
        return (new ConfigurationBuilder().AddInMemoryCollection(values).Build(), environment);
    }

    /// <summary>The registration as the silo does it, with the environment replaced by the row's.</summary>
    private static ServiceProvider Services(IConfiguration configuration, Dictionary<string, string> environment)
    {
        var services = new ServiceCollection().AddLogging(l => l.ClearProviders()).AddAzureKeyVaultSecretSource(configuration);
        var setup = new AzureKeyVaultOptionsSetup(name => environment.GetValueOrDefault(name));
        services.RemoveAll<IPostConfigureOptions<AzureKeyVaultOptions>>();
        services.RemoveAll<IValidateOptions<AzureKeyVaultOptions>>();
        services.AddSingleton<IPostConfigureOptions<AzureKeyVaultOptions>>(setup);
        services.AddSingleton<IValidateOptions<AzureKeyVaultOptions>>(setup);
        return services.BuildServiceProvider();
    }
}
