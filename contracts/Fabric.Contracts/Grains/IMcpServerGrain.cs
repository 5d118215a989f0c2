using Fabric.Contracts.Servers;

namespace Fabric.Contracts.Grains;

/// <summary>One MCP server, keyed by its route name.</summary>
[Alias("fabric.IMcpServerGrain")]
public interface IMcpServerGrain : IGrainWithStringKey
{
    // Interleaves, and not for a callback (a change's lease reconcile is handed the new definition):
    // a lease grain reads the definition from its own calls (an edge's GetAsync, RotateAsync, its
    // renewal timer) and may be the very lease that a Put or Delete here is waiting on through the
    // lease directory. Without interleaving this read would queue behind that Put, which waits on the
    // lease: a deadlock. The read is synchronous over state, so interleaving it is safe.
    [Alias("Get"), AlwaysInterleave]
    ValueTask<McpServerDefinition?> GetAsync();

    /// <summary>
    /// Stores a validated definition; pushes an invalidation to every edge before returning. A launched server passes
    /// <paramref name="launch"/> and a null <paramref name="upstream"/> (stored as <c>stdio:{name}</c>).
    /// </summary>
    [Alias("Put")]
    ValueTask<McpServerDefinition> PutAsync(Uri? upstream, string? identity, CredentialBinding? credential, ReflectionAction onReflection = ReflectionAction.Redact,
        string? agentJwtAudience = null, LaunchSpec? launch = null, ToolLockMode toolLock = ToolLockMode.TrustOnFirstUse);

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
