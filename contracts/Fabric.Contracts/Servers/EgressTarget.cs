namespace Fabric.Contracts.Servers;

/// <summary>
/// An egress target (<c>PUT /v1/egress/{name}</c>): a destination MCP servers may call through the edge, the
/// credential the edge splices into those calls (the same binding shapes as servers'), and the roots its TLS
/// certificate must chain to (<see cref="CaFile"/>, a PEM file on the edges; absent: the system's Web PKI).
/// </summary>
[GenerateSerializer, Immutable, Alias("fabric.egress-target")]
public sealed record EgressTargetDefinition(
    [property: Id(0)] string Name,
    [property: Id(1)] Uri Upstream,
    [property: Id(2)] CredentialBinding? Credential,
    [property: Id(3)] string? CaFile,
    [property: Id(4)] long Revision,
    [property: Id(5)] DateTimeOffset UpdatedAt)
{
    /// <summary>The prefix of an egress target's key where servers and targets share machinery (leases, upstream clients).</summary>
    public const string KeyPrefix = "egress:";

    /// <summary>The key of this target among server names (which never hold ':').</summary>
    public static string KeyFor(string name) => KeyPrefix + name;

    /// <summary>The target's name when <paramref name="key"/> is an egress key.</summary>
    public static bool TryParseKey(string key, [NotNullWhen(true)] out string? name)
    {
        name = key.StartsWith(KeyPrefix, StringComparison.Ordinal) ? key[KeyPrefix.Length..] : null;
        return name is not null;
    }

    /// <summary>
    /// The target as the upstream definition the lease grain and the edge's forwarder work with (an upstream and a
    /// credential binding, under the egress key): one lease machinery, one splice, one redactor for both legs.
    /// </summary>
    public McpServerDefinition AsUpstream() => new(KeyFor(Name), Upstream, Identity: null, Credential, Revision, UpdatedAt, CaFile: CaFile);
}

/// <summary>The body of <c>PUT /v1/egress/{name}</c>.</summary>
[System.Text.Json.Serialization.JsonUnmappedMemberHandling(System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow)]
public sealed record EgressTargetInput(string? Upstream, CredentialBindingInput? Credential = null, EgressTlsInput? Tls = null);

/// <summary>The <c>tls</c> object of an egress target.</summary>
[System.Text.Json.Serialization.JsonUnmappedMemberHandling(System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow)]
public sealed record EgressTlsInput(string? CaFile);
