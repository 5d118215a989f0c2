namespace Fabric.Contracts.Servers;

/// <summary>Egress targets (<c>PUT /v1/egress/{name}</c>), validated with the server rules they share.</summary>
public static partial class McpServerValidator
{
    /// <summary>
    /// An egress target: a name like a server's; an <c>https</c> upstream (a base URL: the request path is appended),
    /// under the same address rules; a credential of the same shapes (<c>perWorkload</c>: a lease per calling agent); a CA
    /// file that is an absolute path.
    /// </summary>
    public static IReadOnlyDictionary<string, string[]> ValidateEgressTarget(
        string? name, EgressTargetInput? input, IReadOnlyCollection<string>? availableSources = null, bool allowLinkLocal = false)
    {
        var errors = new FieldErrors();
        errors.Add("name", ValidateName(name));
        if (input is null)
        {
            errors.Add("upstream", "upstream is required");
            return errors.ToDictionary();
        }
        errors.Add("upstream", UpstreamRules.Validate(input.Upstream, allowLinkLocal)
            ?? (input.Upstream!.StartsWith("https://", StringComparison.OrdinalIgnoreCase) ? null : "an egress target is https only"));
        if (input.Credential is { } credential)
        {
            // perWorkload: a lease per calling agent, for the calls of per-workload launched servers (the only ones that name their agent).
            ValidateCredential(credential, availableSources, errors.Add);
        }
        if (input.Tls is { } tls)
        {
            errors.Add("tls.caFile", tls.CaFile is not { Length: > 0 and <= 1024 } file || !Path.IsPathFullyQualified(file) || file.Any(char.IsControl)
                ? "tls.caFile is the absolute path of a PEM file of roots on the edges (at most 1024 characters)"
                : null);
        }
        return errors.ToDictionary();
    }
}
