using System.Formats.Asn1;
using System.Net;
using System.Security.Cryptography.X509Certificates;

namespace Fabric.Contracts.Identity;

/// <summary>
/// Writes and reads the subjectAltName extension (RFC 5280 §4.2.1.6) of an X509-SVID, which carries
/// the SPIFFE ID as its one URI SAN (X509-SVID §2).
/// </summary>
/// <remarks>
/// The URI is written byte for byte from <see cref="SpiffeId.ToString"/>, not through
/// <see cref="SubjectAlternativeNameBuilder.AddUri"/>: that goes through <see cref="Uri"/>, which
/// normalises (<c>spiffe://td</c> becomes <c>spiffe://td/</c>, an invalid SPIFFE ID; an upper-case
/// host is lowered; <c>%41</c> is decoded), and a certificate must say exactly what was asked for.
/// </remarks>
public static class SvidSubjectAltName
{
    public const string Oid = "2.5.29.17";

    // GeneralName ::= CHOICE { dNSName [2] IA5String, uniformResourceIdentifier [6] IA5String,
    // iPAddress [7] OCTET STRING, ... } with IMPLICIT tags (RFC 5280 §4.2.1.6, Appendix A.2).
    private static readonly Asn1Tag DnsNameTag = new(TagClass.ContextSpecific, 2);
    private static readonly Asn1Tag UriTag = new(TagClass.ContextSpecific, 6);
    private static readonly Asn1Tag IpAddressTag = new(TagClass.ContextSpecific, 7);

    /// <summary>
    /// The extension for <paramref name="id"/> plus DNS and IP SANs. It is critical only when asked:
    /// X509-SVID §3.1 requires that when the subject is empty, and our certificates have one.
    /// </summary>
    public static X509Extension Create(
        SpiffeId id, IEnumerable<string> dnsNames, IEnumerable<IPAddress> ipAddresses, bool critical = false)
    {
        ArgumentNullException.ThrowIfNull(id);
        ArgumentNullException.ThrowIfNull(dnsNames);
        ArgumentNullException.ThrowIfNull(ipAddresses);
        var writer = new AsnWriter(AsnEncodingRules.DER);
        using (writer.PushSequence())
        {
            writer.WriteCharacterString(UniversalTagNumber.IA5String, id.ToString(), UriTag);
            foreach (var dnsName in dnsNames)
            {
                writer.WriteCharacterString(UniversalTagNumber.IA5String, dnsName, DnsNameTag);
            }
            foreach (var address in ipAddresses)
            {
                writer.WriteOctetString(address.GetAddressBytes(), IpAddressTag);
            }
        }
        return new X509Extension(Oid, writer.Encode(), critical);
    }

    /// <summary>
    /// Adds every URI SAN of an encoded subjectAltName extension to <paramref name="uris"/>.
    /// False when the extension is not valid DER (then <paramref name="uris"/> must be ignored).
    /// </summary>
    internal static bool TryReadUris(ReadOnlyMemory<byte> extensionValue, List<string> uris)
    {
        try
        {
            var reader = new AsnReader(extensionValue, AsnEncodingRules.DER);
            var names = reader.ReadSequence();
            reader.ThrowIfNotEmpty();
            while (names.HasData)
            {
                if (names.PeekTag().HasSameClassAndValue(UriTag))
                {
                    // A constructed [6], or non-IA5 bytes, is not DER for this field and throws.
                    uris.Add(names.ReadCharacterString(UniversalTagNumber.IA5String, UriTag));
                }
                else
                {
                    names.ReadEncodedValue();
                }
            }
            return true;
        }
        catch (AsnContentException)
        {
            return false;
        }
    }
}
