using System.Security.Cryptography;
using Fabric.Silo.Secrets;
using Microsoft.Extensions.Configuration;

namespace Fabric.Silo.Tests.Secrets;

public sealed class LocalSecretProtectorTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "fabric-protector-" + Guid.NewGuid().ToString("N"));
    private readonly LocalSecretProtector _protector = new(RandomNumberGenerator.GetBytes(32));

    public void Dispose()
    {
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    [Fact]
    public void A_value_round_trips_under_its_name()
    {
        var encrypted = _protector.Encrypt("gh.token", "ghp_value");

        Assert.Equal("ghp_value", _protector.Decrypt("gh.token", encrypted));
    }

    [Theory]
    [InlineData("ciphertext")]
    [InlineData("tag")]
    [InlineData("nonce")]
    public void A_tampered_value_does_not_decrypt(string part)
    {
        var encrypted = _protector.Encrypt("gh.token", "ghp_value");
        var tampered = part switch
        {
            "ciphertext" => encrypted with { Ciphertext = Flip(encrypted.Ciphertext) },
            "tag" => encrypted with { Tag = Flip(encrypted.Tag) },
            _ => encrypted with { Nonce = Flip(encrypted.Nonce) },
        };

        Assert.ThrowsAny<CryptographicException>(() => _protector.Decrypt("gh.token", tampered));
    }

    [Fact]
    public void A_value_moved_under_another_name_does_not_decrypt()
    {
        var encrypted = _protector.Encrypt("gh.token", "ghp_value");

        Assert.ThrowsAny<CryptographicException>(() => _protector.Decrypt("jira.token", encrypted));
    }

    [Fact]
    public void Another_key_does_not_decrypt()
    {
        var encrypted = _protector.Encrypt("gh.token", "ghp_value");

        Assert.ThrowsAny<CryptographicException>(() => new LocalSecretProtector(RandomNumberGenerator.GetBytes(32)).Decrypt("gh.token", encrypted));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(16)]
    [InlineData(31)]
    [InlineData(33)]
    public void A_key_that_is_not_32_bytes_is_refused(int length)
    {
        Assert.Throws<ArgumentException>(() => new LocalSecretProtector(new byte[length]));
    }

    [Fact]
    public void The_key_file_is_created_owner_only_and_reused_on_the_next_start()
    {
        var keyFile = Path.Combine(_directory, "nested", "local-secrets.key");
        var configuration = Configuration(("Fabric:Secrets:Local:KeyFile", keyFile));

        var first = LocalSecretProtector.FromConfiguration(configuration);
        var encrypted = first.Encrypt("gh.token", "ghp_value");
        var second = LocalSecretProtector.FromConfiguration(configuration);

        Assert.True(File.Exists(keyFile));
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(keyFile));
        }
        Assert.Equal(32, Convert.FromBase64String(File.ReadAllText(keyFile).Trim()).Length);
        Assert.Equal("ghp_value", second.Decrypt("gh.token", encrypted));
    }

    [Fact]
    public void Without_a_key_file_setting_the_key_lives_in_the_data_directory()
    {
        var protector = LocalSecretProtector.FromConfiguration(Configuration(("Fabric:DataDirectory", _directory)));

        var keyFile = Path.Combine(_directory, "local-secrets.key");
        Assert.True(File.Exists(keyFile));
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(keyFile));
        }
        Assert.Equal("v", protector.Decrypt("n", protector.Encrypt("n", "v")));
    }

    [Fact]
    public void A_configured_key_is_used_and_no_file_is_written()
    {
        var key = RandomNumberGenerator.GetBytes(32);
        var configuration = Configuration(("Fabric:Secrets:Local:Key", Convert.ToBase64String(key)), ("Fabric:DataDirectory", _directory));

        var encrypted = LocalSecretProtector.FromConfiguration(configuration).Encrypt("n", "v");

        Assert.Equal("v", new LocalSecretProtector(key).Decrypt("n", encrypted));
        Assert.False(Directory.Exists(_directory));
    }

    private static IConfiguration Configuration(params (string Key, string Value)[] values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value))).Build();

    private static byte[] Flip(byte[] bytes)
    {
        var copy = (byte[])bytes.Clone();
        copy[0] ^= 0x01;
        return copy;
    }
}
