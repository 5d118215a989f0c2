using Fabric.Contracts.Identity;

namespace Fabric.Contracts.Servers;

/// <summary>
/// An MCP server as the fabric knows it: the route name (<c>/mcp/{name}</c> at the edge), where it
/// lives, the SPIFFE ID its certificate must carry (absent: WebPKI validation with the host name)
/// and how a credential is spliced into calls to it. The pinned identity is a parsed
/// <see cref="SpiffeId"/>: a pin that does not parse cannot exist, so it can never fall back to Web PKI.
/// <para>
/// <see cref="AgentJwtAudience"/> marks a server of another, federated fabric reached through its ingress edge
/// (<see cref="Identity"/> pins that edge): instead of a credential the edge sends, per call, a JWT-SVID of the
/// calling agent for that audience (the remote server's SPIFFE ID), and the remote fabric decides, splices its own
/// credential and audits both identities.
/// </para>
/// <para>
/// <see cref="Launch"/> marks a local server the edge starts and speaks to over stdio, with no credential of its own:
/// its outbound calls take the egress leg under <see cref="Identity"/>.
/// </para>
/// </summary>
[GenerateSerializer, Immutable, Alias("fabric.mcp-server")]
public sealed record McpServerDefinition(
    [property: Id(0)] string Name,
    [property: Id(1)] Uri Upstream,
    [property: Id(2)] SpiffeId? Identity,
    [property: Id(3)] CredentialBinding? Credential,
    [property: Id(4)] long Revision,
    [property: Id(5)] DateTimeOffset UpdatedAt,
    [property: Id(6)] ReflectionAction OnReflection = ReflectionAction.Redact,
    [property: Id(7)] SpiffeId? AgentJwtAudience = null,
    [property: Id(8)] string? CaFile = null,
    [property: Id(9)] LaunchSpec? Launch = null,
    [property: Id(10)] ToolLockMode ToolLock = ToolLockMode.TrustOnFirstUse)
{
    /// <summary>A local server the edge launches (its <see cref="Upstream"/> is <c>stdio:{name}</c>), not one it forwards to.</summary>
    public bool IsLaunched => Launch is not null;
}

/// <summary>
/// What the edge does when an upstream's answer carries the credential it spliced (an echo, an error message):
/// <see cref="Redact"/> masks every occurrence and passes the answer on; <see cref="Block"/> refuses the answer
/// (<c>credential-reflected</c>), at the cost of buffering it whole. Both count it in the audit.
/// </summary>
[GenerateSerializer, Alias("fabric.reflection-action")]
public enum ReflectionAction
{
    Redact = 0,
    Block = 1,
}

/// <summary>
/// Where a server's credential comes from and how it is injected. Which reference fields apply
/// depends on <see cref="Source"/>:
/// <c>local</c>: <see cref="Ref"/> (a secret of the local encrypted store);
/// <c>vault-kv</c>: <see cref="Mount"/>, <see cref="Path"/>, <see cref="Field"/>, optional <see cref="Version"/>;
/// <c>vault-dynamic</c>: <see cref="Path"/> (e.g. <c>database/creds/readonly</c>), <see cref="Field"/>;
/// <c>azure-keyvault</c>: <see cref="Name"/>, optional <see cref="Version"/>.
/// <see cref="PerWorkload"/> gives every calling identity its own lease.
/// </summary>
[GenerateSerializer, Immutable, Alias("fabric.credential-binding")]
public sealed record CredentialBinding(
    [property: Id(0)] string Source,
    [property: Id(1)] string? Ref,
    [property: Id(2)] bool PerWorkload,
    [property: Id(3)] InjectSpec Inject,
    [property: Id(4)] string? Mount = null,
    [property: Id(5)] string? Path = null,
    [property: Id(6)] string? Field = null,
    [property: Id(7)] string? Name = null,
    [property: Id(8)] string? Version = null);

/// <summary>The header to set and its value format; <c>{secret}</c> is replaced by the secret.</summary>
[GenerateSerializer, Immutable, Alias("fabric.inject-spec")]
public sealed record InjectSpec(
    [property: Id(0)] string Header,
    [property: Id(1)] string Format)
{
    public const string Placeholder = "{secret}";

    public string Render(string secret) => Format.Replace(Placeholder, secret, StringComparison.Ordinal);

    /// <summary>The secret inside a value <see cref="Render"/> produced (the format's text around <c>{secret}</c> cut off), or null.</summary>
    public string? Extract(string rendered)
    {
        var at = Format.IndexOf(Placeholder, StringComparison.Ordinal);
        if (at < 0)
        {
            return null;
        }
        var (prefix, suffix) = (Format[..at], Format[(at + Placeholder.Length)..]);
        return rendered.Length >= prefix.Length + suffix.Length && rendered.StartsWith(prefix, StringComparison.Ordinal) && rendered.EndsWith(suffix, StringComparison.Ordinal)
            ? rendered[prefix.Length..^suffix.Length]
            : null;
    }
}

public static class CredentialSources
{
    public const string Local = "local";
    public const string VaultKv = "vault-kv";
    public const string VaultDynamic = "vault-dynamic";
    public const string AzureKeyVault = "azure-keyvault";
}
