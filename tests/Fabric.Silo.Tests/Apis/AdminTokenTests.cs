using Fabric.Silo.Apis;
using Microsoft.Extensions.Configuration;

namespace Fabric.Silo.Tests.Apis;

public sealed class AdminTokenTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "fabric-token-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    [Theory]
    [InlineData("FABRIC_ADMIN_TOKEN")]
    [InlineData("Fabric:AdminToken")]
    public void A_configured_token_is_the_only_one_that_matches_and_nothing_is_written(string key)
    {
        var token = AdminToken.FromConfiguration(Configuration((key, "configured-token"), ("Fabric:DataDirectory", _directory)));

        Assert.True(token.Matches("configured-token"));
        Assert.False(token.Matches("configured-token2"));
        Assert.False(token.Matches(""));
        Assert.Null(token.File);
        Assert.False(Directory.Exists(_directory));
    }

    [Fact]
    public void Without_configuration_a_token_is_generated_once_into_an_owner_only_file_in_the_data_directory()
    {
        var configuration = Configuration(("Fabric:DataDirectory", _directory));

        var first = AdminToken.FromConfiguration(configuration);
        var second = AdminToken.FromConfiguration(configuration);

        var file = Path.Combine(_directory, "admin-token");
        Assert.Equal(file, first.File);
        var generated = File.ReadAllText(file).Trim();
        Assert.True(generated.Length >= 32, generated);
        Assert.True(first.Matches(generated));
        Assert.True(second.Matches(generated));
        Assert.False(first.Matches(generated + "x"));
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
        }
    }

    private static IConfiguration Configuration(params (string Key, string Value)[] values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value))).Build();
}
