using System.Xml.Linq;
using Fabric.Silo.Secrets;
using Microsoft.AspNetCore.DataProtection.XmlEncryption;

namespace Fabric.Silo.Console;

/// <summary>
/// The console's Data Protection keys (they encrypt the sign-in cookie, which carries the admin token) are stored
/// encrypted with the local store key (AES-256-GCM, the same key that protects local secrets at rest): a copy of the
/// key directory alone does not let anyone forge or read a console session.
/// </summary>
internal sealed class ConsoleKeyEncryptor(LocalSecretProtector protector) : IXmlEncryptor
{
    internal const string Purpose = "fabric-console-key-ring";
    internal static readonly XName Element = "fabricEncryptedKey";

    public EncryptedXmlInfo Encrypt(XElement plaintextElement)
    {
        var sealedValue = protector.Encrypt(Purpose, plaintextElement.ToString(SaveOptions.DisableFormatting));
        var encrypted = new XElement(Element,
            new XAttribute("nonce", Convert.ToBase64String(sealedValue.Nonce)),
            new XAttribute("tag", Convert.ToBase64String(sealedValue.Tag)),
            Convert.ToBase64String(sealedValue.Ciphertext));
        return new EncryptedXmlInfo(encrypted, typeof(ConsoleKeyDecryptor));
    }
}

/// <summary>Reads what <see cref="ConsoleKeyEncryptor"/> wrote (Data Protection activates it by type with the host's services).</summary>
internal sealed class ConsoleKeyDecryptor(IServiceProvider services) : IXmlDecryptor
{
    public XElement Decrypt(XElement encryptedElement)
    {
        var protector = services.GetRequiredService<LocalSecretProtector>();
        var value = new EncryptedValue(
            Convert.FromBase64String((string?)encryptedElement.Attribute("nonce") ?? ""),
            Convert.FromBase64String(encryptedElement.Value),
            Convert.FromBase64String((string?)encryptedElement.Attribute("tag") ?? ""));
        return XElement.Parse(protector.Decrypt(ConsoleKeyEncryptor.Purpose, value));
    }
}
