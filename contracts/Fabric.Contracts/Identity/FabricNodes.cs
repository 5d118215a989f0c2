namespace Fabric.Contracts.Identity;

/// <summary>The roles of the fabric's own components, each under the reserved <c>/fabric/</c> path.</summary>
public enum FabricRole
{
    Silo,
    Edge,
}

/// <summary>
/// The SPIFFE IDs of the fabric's own nodes: <c>spiffe://&lt;td&gt;/fabric/silo/&lt;name&gt;</c> and
/// <c>spiffe://&lt;td&gt;/fabric/edge/&lt;name&gt;</c>. A name is one SPIFFE path segment of lower-case
/// letters, digits and <c>-</c> (at most 63, starting with a letter or digit), so it is also a safe key,
/// file name and log value.
/// </summary>
public static class FabricNodes
{
    public const int MaxNameLength = 63;

    public static bool IsValidName(string? name)
    {
        if (string.IsNullOrEmpty(name) || name.Length > MaxNameLength || name[0] == '-')
        {
            return false;
        }
        foreach (var c in name)
        {
            if (c is not ((>= 'a' and <= 'z') or (>= '0' and <= '9') or '-'))
            {
                return false;
            }
        }
        return true;
    }

    public static SpiffeId Id(string trustDomain, FabricRole role, string name)
    {
        if (!IsValidName(name))
        {
            throw new ArgumentException($"'{name}' is not a valid {Segment(role)} name: lower-case letters, digits and '-', at most {MaxNameLength}", nameof(name));
        }
        return SpiffeId.FromParts(trustDomain, $"{SpiffeId.ReservedPath.TrimStart('/')}/{Segment(role)}/{name}");
    }

    /// <summary>True when <paramref name="id"/> is a node of <paramref name="role"/> in <paramref name="trustDomain"/>; its name in <paramref name="name"/>.</summary>
    public static bool TryGetName(SpiffeId id, string trustDomain, FabricRole role, [NotNullWhen(true)] out string? name)
    {
        name = null;
        var prefix = $"{SpiffeId.ReservedPath}/{Segment(role)}/";
        if (!string.Equals(id.TrustDomain, trustDomain, StringComparison.Ordinal)
            || !id.Path.StartsWith(prefix, StringComparison.Ordinal))
        {
            return false;
        }
        var candidate = id.Path[prefix.Length..];
        if (!IsValidName(candidate))
        {
            return false;
        }
        name = candidate;
        return true;
    }

    public static bool Is(SpiffeId id, string trustDomain, FabricRole role) => TryGetName(id, trustDomain, role, out _);

    private static string Segment(FabricRole role) => role switch
    {
        FabricRole.Silo => "silo",
        FabricRole.Edge => "edge",
        _ => throw new ArgumentOutOfRangeException(nameof(role)),
    };
}
