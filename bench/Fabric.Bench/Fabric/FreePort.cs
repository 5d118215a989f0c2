using System.Net;
using System.Net.Sockets;

namespace Fabric.Bench.Fabric;

internal static class FreePort
{
    /// <summary>A TCP port free on loopback right now (Orleans and nginx need fixed ports).</summary>
    public static int Next()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
