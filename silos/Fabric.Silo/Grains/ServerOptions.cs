namespace Fabric.Silo.Grains;

/// <summary><c>Fabric:Servers</c>: what this fabric accepts as an MCP server's upstream.</summary>
public sealed class ServerOptions
{
    /// <summary>
    /// Permits link-local upstreams (169.254.0.0/16, fe80::/10). Off by default: cloud instance
    /// metadata (169.254.169.254) answers there, and an upstream is reached with the fabric's network position.
    /// </summary>
    public bool AllowLinkLocal { get; set; }
}
