using Fabric.Contracts.Identity;
using Microsoft.AspNetCore.Connections;
using Orleans.Configuration;

namespace Fabric.Silo.Hosting;

/// <summary>
/// TLS on every Orleans link of the silo (<see cref="LinkTls"/>): the silo port admits silos of this trust
/// domain only and the silo's own connections to peers expect a silo; the gateway port admits edges only,
/// unless <see cref="LinkPeers"/> refuses them (a revoked edge), and tracks their links so a revocation
/// aborts them at once. An Orleans client without a fabric SVID, or with an agent's, never gets past the
/// handshake.
/// </summary>
internal static class SiloLinks
{
    public static ISiloBuilder UseFabricLinkTls(this ISiloBuilder silo) =>
        silo.Configure<SiloConnectionOptions>(o =>
        {
            o.ConfigureSiloInboundConnection(builder => builder.UseServerTls(Server(builder, FabricRole.Silo, peers: null)));
            o.ConfigureGatewayInboundConnection(builder =>
            {
                var peers = builder.ApplicationServices.GetRequiredService<LinkPeers>();
                builder.UseServerTls(Server(builder, FabricRole.Edge, peers));
                builder.TrackPeers(peers, Time(builder), Identity(builder));
            });
            o.ConfigureSiloOutboundConnection(builder => builder.UseClientTls(
                LinkTls.Client(Identity(builder), FabricRole.Silo, Time(builder), Logger(builder))));
        });

    private static Orleans.Connections.Security.TlsOptions Server(IConnectionBuilder builder, FabricRole peerRole, LinkPeers? peers) =>
        LinkTls.Server(Identity(builder), peerRole, peers, Time(builder), Logger(builder));

    private static NodeIdentity Identity(IConnectionBuilder builder) => builder.ApplicationServices.GetRequiredService<NodeIdentity>();

    private static TimeProvider Time(IConnectionBuilder builder) => builder.ApplicationServices.GetRequiredService<TimeProvider>();

    private static ILogger Logger(IConnectionBuilder builder) =>
        builder.ApplicationServices.GetRequiredService<ILoggerFactory>().CreateLogger("Fabric.Links");
}
