using System.Runtime.CompilerServices;
using Fabric.Contracts.Servers;

namespace Fabric.Edge.Filters;

/// <summary>
/// The needles of each leased credential, built once per <see cref="Credential"/> instance (the edge cache hands
/// out the same instance until the lease changes) and dropped with it. The values scanned for are the whole
/// injected header value (<c>Bearer sk-…</c>) and the secret inside it, cut out by the binding's format.
/// </summary>
internal static class CredentialNeedleCache
{
    private static readonly ConditionalWeakTable<Credential, CredentialNeedles> Needles = new();

    public static CredentialNeedles For(Credential credential, InjectSpec inject) =>
        Needles.GetValue(credential, c => CredentialNeedles.For(ValuesOf(c.HeaderValue, inject)));

    /// <summary>The header value, and the secret between the format's literal prefix and suffix.</summary>
    internal static IEnumerable<string> ValuesOf(string headerValue, InjectSpec inject)
    {
        yield return headerValue;
        var at = inject.Format.IndexOf(InjectSpec.Placeholder, StringComparison.Ordinal);
        if (at < 0)
        {
            yield break;
        }
        var prefix = inject.Format[..at];
        var suffix = inject.Format[(at + InjectSpec.Placeholder.Length)..];
        if (headerValue.Length >= prefix.Length + suffix.Length
            && headerValue.StartsWith(prefix, StringComparison.Ordinal) && headerValue.EndsWith(suffix, StringComparison.Ordinal))
        {
            var secret = headerValue[prefix.Length..^suffix.Length];
            if (secret.Length > 0 && secret != headerValue)
            {
                yield return secret;
            }
        }
    }
}
