namespace Fabric.Edge.Identity;

/// <summary>The JWT-SVID keys the edge validates bearer tokens with, swapped atomically with every bundle it installs.</summary>
public sealed class JwtAuthorities
{
    private volatile JwtBundleSet _current = JwtBundleSet.Empty;

    public JwtBundleSet Current => _current;

    internal void Set(JwtBundleSet bundles) => _current = bundles;
}
