using System.Net;
using System.Net.Sockets;

namespace Fabric.Testing;

internal static class FreePort
{
    /// <summary>A TCP port free on loopback right now (Orleans needs fixed silo and gateway ports).</summary>
    public static int Next()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
