using System.Net;
using System.Net.Sockets;
using Fabric.Contracts.Identity;

namespace Fabric.Silo.Identity;

/// <summary>
/// What the CA is willing to sign. A request that breaks a rule is refused with an
/// <see cref="ArgumentException"/> naming the rule; nothing is silently dropped or normalised.
/// </summary>
internal static class SvidRequestRules
{
    /// <summary>The longest SVID the CA issues; short-lived SVIDs are the revocation story.</summary>
    public static readonly TimeSpan MaxTtl = TimeSpan.FromDays(30);

    private const int MaxDnsNameLength = 253;
    private const int MaxDnsLabelLength = 63;

    /// <summary>The requested ID: it parses, has a workload path (X509-SVID §3.1) and is ours.</summary>
    public static SpiffeId CheckSpiffeId(string? value, string trustDomain)
    {
        if (!SpiffeId.TryParse(value, out var id, out var error))
        {
            throw new ArgumentException($"'{value}' is not a valid SPIFFE ID: {error}", nameof(value));
        }
        if (!id.IsWorkload)
        {
            throw new ArgumentException($"'{id}' has no path; an X509-SVID leaf needs a workload ID", nameof(value));
        }
        if (id.TrustDomain != trustDomain)
        {
            throw new ArgumentException(
                $"'{id}' is in trust domain '{id.TrustDomain}'; this CA issues only for '{trustDomain}'", nameof(value));
        }
        return id;
    }

    public static TimeSpan CheckTtl(TimeSpan ttl) =>
        ttl > TimeSpan.Zero && ttl <= MaxTtl
            ? ttl
            : throw new ArgumentException($"the TTL must be more than 0 and at most {MaxTtl.TotalDays:0} days; got {ttl}", nameof(ttl));

    /// <summary>
    /// Host names for server SVIDs: ASCII letters, digits and hyphens in labels of 1–63 characters,
    /// no hyphen at either end of a label, 253 characters in all (RFC 1123 §2.1, RFC 5280 §4.2.1.6
    /// "preferred name syntax"). Wildcards are refused: an SVID names one workload.
    /// </summary>
    public static string[] CheckDnsNames(IReadOnlyList<string>? dnsNames) =>
        dnsNames is null ? [] : [.. dnsNames.Select(CheckDnsName)];

    /// <summary>IP SANs in their canonical text form only, so what is signed is what was read.</summary>
    public static IPAddress[] CheckIpAddresses(IReadOnlyList<string>? ipAddresses) =>
        ipAddresses is null ? [] : [.. ipAddresses.Select(CheckIpAddress)];

    private static string CheckDnsName(string? name)
    {
        if (string.IsNullOrEmpty(name) || name.Length > MaxDnsNameLength)
        {
            throw new ArgumentException($"'{name}' is not a valid DNS name: it must have 1 to {MaxDnsNameLength} characters", nameof(name));
        }
        foreach (var label in name.Split('.'))
        {
            if (label.Length is 0 or > MaxDnsLabelLength
                || label[0] == '-' || label[^1] == '-'
                || !label.All(c => char.IsAsciiLetterOrDigit(c) || c == '-'))
            {
                throw new ArgumentException(
                    $"'{name}' is not a valid DNS name: labels are 1 to {MaxDnsLabelLength} letters, digits or inner hyphens",
                    nameof(name));
            }
        }
        return name;
    }

    private static IPAddress CheckIpAddress(string? text)
    {
        // IPAddress.TryParse also takes "1", "0x7f.1" and "::1%eth0"; accept only what prints back the same.
        if (text is null
            || !IPAddress.TryParse(text, out var address)
            || (address.AddressFamily == AddressFamily.InterNetworkV6 && address.ScopeId != 0)
            || !string.Equals(address.ToString(), text, StringComparison.OrdinalIgnoreCase))
        {
            throw new ArgumentException($"'{text}' is not an IP address in canonical form", nameof(text));
        }
        return address;
    }
}
