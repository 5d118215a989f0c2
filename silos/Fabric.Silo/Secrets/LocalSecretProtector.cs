using System.Security.Cryptography;
using System.Text;
using Fabric.Silo.Hosting;

namespace Fabric.Silo.Secrets;

/// <summary>
/// Encrypts local secret values at rest with AES-256-GCM. The key comes from
/// <c>Fabric:Secrets:Local:Key</c> (base64, 32 bytes) or from the key file
/// <c>Fabric:Secrets:Local:KeyFile</c> (default <c>&lt;data dir&gt;/local-secrets.key</c>), created
/// with 0600 permissions at first start. The secret's name is the associated data, so a ciphertext
/// moved under another name does not decrypt.
/// </summary>
public sealed class LocalSecretProtector
{
    private const int NonceSize = 12;
    private const int TagSize = 16;
    private readonly byte[] _key;

    public LocalSecretProtector(byte[] key)
    {
        if (key.Length != 32)
        {
            throw new ArgumentException("the local secret store key must be 32 bytes", nameof(key));
        }
        _key = key;
    }

    public static LocalSecretProtector FromConfiguration(IConfiguration configuration)
    {
        if (configuration["Fabric:Secrets:Local:Key"] is { Length: > 0 } configured)
        {
            return new LocalSecretProtector(Convert.FromBase64String(configured));
        }
        var path = configuration["Fabric:Secrets:Local:KeyFile"] is { Length: > 0 } file
            ? file
            : Path.Combine(FabricDataDirectory.Resolve(configuration), "local-secrets.key");
        var encoded = FabricDataDirectory.ReadOrCreatePrivateFile(path, () => Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)));
        return new LocalSecretProtector(Convert.FromBase64String(encoded));
    }

    public EncryptedValue Encrypt(string name, string value)
    {
        var plaintext = Encoding.UTF8.GetBytes(value);
        var nonce = RandomNumberGenerator.GetBytes(NonceSize);
        var ciphertext = new byte[plaintext.Length];
        var tag = new byte[TagSize];
        using (var aes = new AesGcm(_key, TagSize))
        {
            aes.Encrypt(nonce, plaintext, ciphertext, tag, Encoding.UTF8.GetBytes(name));
        }
        CryptographicOperations.ZeroMemory(plaintext);
        return new EncryptedValue(nonce, ciphertext, tag);
    }

    public string Decrypt(string name, EncryptedValue encrypted)
    {
        var plaintext = new byte[encrypted.Ciphertext.Length];
        using var aes = new AesGcm(_key, TagSize);
        aes.Decrypt(encrypted.Nonce, encrypted.Ciphertext, encrypted.Tag, plaintext, Encoding.UTF8.GetBytes(name));
        try
        {
            return Encoding.UTF8.GetString(plaintext);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plaintext);
        }
    }
}

[GenerateSerializer, Immutable, Alias("fabric.encrypted-value")]
public sealed record EncryptedValue(
    [property: Id(0)] byte[] Nonce,
    [property: Id(1)] byte[] Ciphertext,
    [property: Id(2)] byte[] Tag);
