using Fabric.Contracts.Servers;

namespace Fabric.Contracts.Grains;

/// <summary>One MCP server, keyed by its route name.</summary>
[Alias("fabric.IMcpServerGrain")]
public interface IMcpServerGrain : IGrainWithStringKey
{
    // Interleaves: a lease reconcile started by this grain's own change reads the new definition.
    [Alias("Get"), AlwaysInterleave]
    ValueTask<McpServerDefinition?> GetAsync();

    /// <summary>Stores a validated definition; pushes an invalidation to every edge before returning.</summary>
    [Alias("Put")]
    ValueTask<McpServerDefinition> PutAsync(Uri upstream, string? identity, CredentialBinding? credential, ReflectionAction onReflection = ReflectionAction.Redact);

    [Alias("Delete")]
    ValueTask<bool> DeleteAsync();
}

/// <summary>The names of all registered servers (key "default").</summary>
[Alias("fabric.IServerDirectoryGrain")]
public interface IServerDirectoryGrain : IGrainWithStringKey
{
    [Alias("List")]
    ValueTask<IReadOnlyList<string>> ListAsync();

    [Alias("Add")]
    ValueTask AddAsync(string name);

    [Alias("Remove")]
    ValueTask RemoveAsync(string name);
}
