using System.Security.Cryptography.X509Certificates;
using Fabric.Contracts.Identity;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;
using Orleans.Connections.Security;

namespace Fabric.Hosting.Links;

/// <summary>
/// TLS for the fabric's own Orleans links (issue 10 §1): both ends present their X.509-SVID, and each
/// accepts only the peer role the link is for, in its own trust domain, validated by the same
/// <see cref="X509SvidValidator"/> the edge runs on agents (chain to the bundle, SPIFFE leaf rules), never
/// WebPKI and never host names.
/// <code>
///  silo port    silo ◄──► silo        both sides: a silo SVID
///  gateway port edge ───► silo        silo accepts edges (not refused); edge accepts silos
/// </code>
/// Certificates are read from <see cref="NodeIdentity"/> at every handshake, so a renewed SVID or a new
/// bundle applies to the next link without a restart.
/// </summary>
public static partial class LinkTls
{
    /// <summary>Options for the accepting side of a link: a client certificate is required.</summary>
    public static TlsOptions Server(NodeIdentity identity, FabricRole peerRole, LinkPeers? peers, TimeProvider time, ILogger logger) => new()
    {
        LocalServerCertificateSelector = (_, _) => identity.Current.Certificate,
        RemoteCertificateMode = RemoteCertificateMode.RequireCertificate,
        RemoteCertificateValidation = Validator(identity, peerRole, peers, time, logger, "inbound"),
        HandshakeTimeout = TimeSpan.FromSeconds(5),
    };

    /// <summary>Options for the connecting side of a link: the peer must present an SVID of <paramref name="peerRole"/>.</summary>
    public static TlsOptions Client(NodeIdentity identity, FabricRole peerRole, TimeProvider time, ILogger logger) => new()
    {
        LocalClientCertificateSelector = (_, _, _, _, _) => identity.IsReady ? identity.Current.Certificate : null,
        RemoteCertificateMode = RemoteCertificateMode.RequireCertificate,
        RemoteCertificateValidation = Validator(identity, peerRole, peers: null, time, logger, "outbound"),
        HandshakeTimeout = TimeSpan.FromSeconds(5),
    };

    /// <summary>
    /// Connection middleware placed after the TLS middleware: registers the authenticated link with
    /// <paramref name="peers"/> for its lifetime, so a refusal can abort it.
    /// </summary>
    public static void TrackPeers(this IConnectionBuilder builder, LinkPeers peers, TimeProvider time, NodeIdentity identity)
    {
        builder.Use(next => async connection =>
        {
            var certificate = connection.Features.Get<ITlsConnectionFeature>()?.RemoteCertificate;
            var peer = certificate is null ? null : X509SvidValidator.Validate(certificate, null, identity.Bundles, time.GetUtcNow()).Id;
            if (peer is null)
            {
                // The TLS middleware admitted nobody without a valid SVID; anything else is a wiring error: fail closed.
                connection.Abort(new ConnectionAbortedException("link without an authenticated peer"));
                return;
            }
            using (peers.Track(connection, peer))
            {
                await next(connection);
            }
        });
    }

    /// <summary>The check itself, public for table tests: null when <paramref name="certificate"/> may open this link, else why not.</summary>
    public static string? Check(X509Certificate2? certificate, NodeIdentity identity, FabricRole peerRole, LinkPeers? peers, DateTimeOffset now)
    {
        if (!identity.IsReady)
        {
            return "this node has no SVID yet";
        }
        if (certificate is null)
        {
            return "no certificate was presented";
        }
        var validation = X509SvidValidator.Validate(certificate, null, identity.Bundles, now);
        if (!validation.IsValid)
        {
            return validation.Error;
        }
        var trustDomain = identity.Current.Id.TrustDomain;
        if (!FabricNodes.Is(validation.Id, trustDomain, peerRole))
        {
            return $"'{validation.Id}' is not a fabric {peerRole.ToString().ToLowerInvariant()} of '{trustDomain}'";
        }
        return peers?.IsRefused(validation.Id) == true ? $"'{validation.Id}' is revoked" : null;
    }

    private static RemoteCertificateValidator Validator(
        NodeIdentity identity, FabricRole peerRole, LinkPeers? peers, TimeProvider time, ILogger logger, string direction) =>
        (certificate, _, _) =>
        {
            // The policy errors SslStream reports are WebPKI's (an untrusted root, a name mismatch): the SVID
            // rules replace them entirely, as they do on the edge's agent-facing listener.
            var refusal = Check(certificate, identity, peerRole, peers, time.GetUtcNow());
            if (refusal is not null)
            {
                LogRefused(logger, direction, peerRole, refusal);
            }
            return refusal is null;
        };

    [LoggerMessage(EventId = 2701, Level = LogLevel.Warning, Message = "Orleans link refused ({Direction}, expecting a {Role}): {Reason}")]
    private static partial void LogRefused(ILogger logger, string direction, FabricRole role, string reason);
}
