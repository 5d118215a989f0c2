using System.Security.Cryptography.X509Certificates;
using Fabric.Hosting;
using Fabric.Edge.Audit;
using Fabric.Edge.Caching;
using Fabric.Edge.Egress;
using Fabric.Edge.Forwarding;
using Fabric.Edge.Credentials;
using Fabric.Edge.Identity;
using Fabric.Edge.Mcp;
using Fabric.Edge.Pipeline;
using Fabric.Edge.Routing;
using Fabric.Edge.Sessions;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.Options;

namespace Fabric.Edge.Hosting;

public static class EdgeHostingExtensions
{
    /// <summary>
    /// The edge: an Orleans client of the cluster, Kestrel requiring an X.509-SVID from every
    /// client (HTTP/1.1, HTTP/2, and HTTP/3 where the host has QUIC), serving its own SVID.
    /// </summary>
    public static WebApplicationBuilder AddFabricEdge(this WebApplicationBuilder builder)
    {
        builder.Services.Configure<EdgeOptions>(builder.Configuration.GetSection(EdgeOptions.Section));
        builder.Services.AddSingleton(TimeProvider.System);
        // The SVID first (node attestation): hosted services start in order, and neither the Orleans link
        // nor an agent handshake can happen without it.
        builder.Services.Configure<EdgeJoinOptions>(builder.Configuration.GetSection(EdgeJoinOptions.Section));
        builder.Services.AddSingleton<NodeIdentity>();
        builder.Services.AddSingleton<JwtAuthorities>();
        builder.Services.AddSingleton<EdgeJoin>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<EdgeJoin>());

        // UseOrleansClient by Fabric:Cluster:Provider (localhost | redis), validated here, at startup; TLS with the edge's SVID.
        builder.AddFabricClusterClient();
        builder.Services.AddSingleton<EdgeCache>();
        builder.Services.AddSingleton<InvalidationSubscriber>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<InvalidationSubscriber>());
        builder.Services.AddSingleton<IAuditSink, ClusterAuditSink>();
        builder.Services.AddSingleton(sp => new AuditShipper(sp.GetRequiredService<IAuditSink>(), sp.GetRequiredService<IOptions<EdgeOptions>>(),
            sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<AuditShipper>>(),
            () => sp.GetRequiredService<Fabric.Hosting.Links.NodeIdentity>() is { IsReady: true } identity ? identity.Current.Certificate : null));
        builder.Services.AddHostedService(sp => sp.GetRequiredService<AuditShipper>());
        builder.Services.AddSingleton<EdgeHeartbeat>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<EdgeHeartbeat>());
        builder.Services.AddSingleton<EdgeTelemetry>();
        builder.Services.AddSingleton<UpstreamInvokers>();
        builder.Services.AddSingleton<SplicingTransformer>();
        builder.Services.AddSingleton<ServerRouting>();
        builder.Services.AddSingleton<McpRequestReader>();
        builder.Services.AddSingleton<SessionOwnership>();
        builder.Services.AddSingleton<AgentJwts>();
        builder.Services.AddSingleton<IngressAdmission>();
        builder.Services.AddSingleton<CredentialSplice>();
        builder.Services.AddSingleton<McpForwarder>();
        builder.Services.AddSingleton<ExchangeAudit>();
        builder.Services.AddSingleton<McpPipeline>();
        builder.Services.AddSingleton<EgressPipeline>();
        // The egress forward proxy: its own listeners, started after the SVID, the cluster client and the audit shipper.
        builder.Services.AddSingleton<EgressCertificateAuthority>();
        builder.Services.AddSingleton<ProxyCredentials>();
        builder.Services.AddSingleton<CallAttribution>();
        builder.Services.AddSingleton<EgressProxy>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<EgressProxy>());
        builder.Services.AddSingleton<Fabric.Edge.Launch.LaunchedServers>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<Fabric.Edge.Launch.LaunchedServers>());
        builder.Services.AddSingleton<Fabric.Edge.Launch.StdioBridge>();
        builder.Services.AddSingleton<Fabric.Edge.Policy.ToolLocks>();
        builder.Services.AddSingleton<Fabric.Edge.Policy.Budgets>();
        builder.Services.AddSingleton<Fabric.Edge.Policy.ApprovalGate>();
        builder.Services.AddSingleton<Fabric.Edge.Pipeline.LiveExchanges>();
        builder.Services.AddSingleton<Fabric.Edge.Sessions.TaskOwnership>();
        builder.Services.AddHttpForwarder();
        builder.Services.AddAuthentication(SvidAuthenticationHandler.SchemeName)
            .AddScheme<Microsoft.AspNetCore.Authentication.AuthenticationSchemeOptions, SvidAuthenticationHandler>(SvidAuthenticationHandler.SchemeName, null);
        builder.Services.AddProblemDetails();

        builder.WebHost.ConfigureKestrel((context, kestrel) =>
        {
            var edge = context.Configuration.GetSection(EdgeOptions.Section).Get<EdgeOptions>() ?? new EdgeOptions();
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = edge.MaxMessageBytes + 1;
            // HTTP/3 needs QUIC (libmsquic); where it is missing Kestrel serves HTTP/1.1 and HTTP/2 only.
            kestrel.ConfigureEndpointDefaults(listen => listen.Protocols = HttpProtocols.Http1AndHttp2AndHttp3);
            kestrel.ConfigureHttpsDefaults(https =>
            {
                var services = kestrel.ApplicationServices;
                var identity = services.GetRequiredService<NodeIdentity>();
                var time = services.GetRequiredService<TimeProvider>();
                https.ServerCertificateSelector = (_, _) => identity.Current.Certificate;
                // With JWT-SVIDs enabled a certificate may be absent (the bearer token is checked per request);
                // one that is presented must still be a valid X.509-SVID, or the handshake fails.
                https.ClientCertificateMode = edge.JwtSvid.Enabled ? ClientCertificateMode.AllowCertificate : ClientCertificateMode.RequireCertificate;
                https.CheckCertificateRevocation = false;
                https.ClientCertificateValidation = (certificate, chain, _) => ClientIdentity.Validate(identity, time, certificate, chain);
            });
        });
        return builder;
    }

    public static WebApplication MapFabricEdge(this WebApplication app)
    {
        var pipeline = app.Services.GetRequiredService<McpPipeline>();
        app.Use(SvidAuthenticationHandler.AuthenticateAsync);
        // Every HTTP method: the pipeline refuses the ones the transport does not define (405), audited.
        app.Map("/mcp/{server}", (HttpContext context, string server) => pipeline.HandleAsync(context, server));
        // The egress leg, base-URL mode: an MCP server's own outbound calls (every method; the path is decided).
        var egress = app.Services.GetRequiredService<EgressPipeline>();
        // The egress CA's certificate (public): what a server trusts the proxy's per-host certificates by.
        var egressCa = app.Services.GetRequiredService<EgressCertificateAuthority>();
        app.MapGet("/.well-known/fabric/egress-ca.pem", () => Results.Text(egressCa.CertificatePem, "application/x-pem-file"));
        app.Map("/egress/{target}/{**path}", (HttpContext context, string target) => egress.HandleAsync(context, target));
        return app;
    }
}
