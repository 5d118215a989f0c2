using System.Buffers;
using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Fabric.Contracts.Audit;
using Fabric.Contracts.Policy;
using Fabric.Edge.Audit;
using Fabric.Edge.Caching;
using Fabric.Edge.Hosting;
using Fabric.Edge.Pipeline;
using Fabric.Hosting;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.Options;

namespace Fabric.Edge.Egress;

/// <summary>What a CONNECT established: who tunnels, to which egress target, for which host (the inner certificate's name).</summary>
internal sealed record EgressTunnel(SpiffeId Identity, string Target, string Host, int Port, ProxyCredentials.Issued? Credential = null);

/// <summary>
/// The egress leg in forward-proxy mode (issue 11 §2b), for MCP servers that cannot be pointed at a base URL: a Kestrel
/// server of its own (<c>Fabric:Edge:Egress:ProxyUrls</c>) whose connections run
/// <code>
///   [https listener: TLS with the edge's SVID, the server's SVID required]
///   CONNECT preamble (strict; who: the outer SVID or a per-process proxy credential; where: the egress target whose
///                     upstream is that host:port, else 403 unknown-egress-target, audited)
///   TLS with a certificate the egress CA mints for that host
///   HTTP/1.1 → EgressPipeline.HandleProxiedAsync (decide, splice, re-originate with Web PKI / the target's CA file)
/// </code>
/// Nothing else is served on these ports: no MCP route, no plaintext forwarding.
/// </summary>
internal sealed partial class EgressProxy(
    IServiceProvider services,
    NodeIdentity identity,
    EgressCertificateAuthority ca,
    ProxyCredentials credentials,
    EdgeCache cache,
    AuditShipper shipper,
    IOptions<EdgeOptions> options,
    ILoggerFactory loggerFactory,
    TimeProvider time,
    ILogger<EgressProxy> logger) : OwnListener
{
    private const string TunnelKey = "fabric.egress.tunnel";
    private static readonly TimeSpan PreambleTimeout = TimeSpan.FromSeconds(10);
    private readonly List<(Uri Configured, ListenOptions Listen)> _listeners = [];

    /// <summary>The bound proxy URLs (port 0 resolved), in configuration order.</summary>
    public IReadOnlyList<Uri> Urls => [.. _listeners.Select(l => new UriBuilder(l.Configured) { Port = l.Listen.IPEndPoint!.Port }.Uri)];

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        var urls = options.Value.Egress.ProxyUrls.Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(u => new Uri(u)).ToList();
        if (urls.Count == 0)
        {
            return;
        }
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(loggerFactory);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = options.Value.MaxMessageBytes;
            kestrel.Limits.MaxRequestHeadersTotalSize = 32 * 1024;
            foreach (var url in urls)
            {
                if (url.Scheme is not ("http" or "https") || !IPAddress.TryParse(url.Host == "localhost" ? "127.0.0.1" : url.Host.Trim('[', ']'), out var address))
                {
                    throw new InvalidOperationException($"Fabric:Edge:Egress:ProxyUrls: '{url}' is not http(s)://<IP address>:<port>");
                }
                kestrel.Listen(address, url.Port, listen =>
                {
                    _listeners.Add((url, listen));
                    listen.Protocols = HttpProtocols.Http1;
                    var outerTls = url.Scheme == "https";
                    if (outerTls)
                    {
                        listen.UseHttps(new TlsHandshakeCallbackOptions { OnConnection = _ => ValueTask.FromResult(ProxyTlsOptions()), HandshakeTimeout = PreambleTimeout });
                    }
                    listen.Use(next => connection => ConnectAsync(connection, next, outerTls));
                });
            }
        });
        App = builder.Build();
        var pipeline = services.GetRequiredService<EgressPipeline>();
        App.Run(context => PerConnection.Get<EgressTunnel>(context, TunnelKey) is { } established
            ? pipeline.HandleProxiedAsync(context, established)
            : Task.CompletedTask);
        await App.StartAsync(cancellationToken);
        LogListening(logger, string.Join(", ", Urls));
    }

    /// <summary>The https listener: the edge's SVID, and the MCP server's SVID required and validated (no other certificate gets a tunnel).</summary>
    private SslServerAuthenticationOptions ProxyTlsOptions() => new()
    {
        ServerCertificate = identity.Current.Certificate,
        ClientCertificateRequired = true,
        ApplicationProtocols = [SslApplicationProtocol.Http11],
        RemoteCertificateValidationCallback = (_, certificate, _, _) =>
            certificate is X509Certificate2 presented && X509SvidValidator.Validate(presented, null, identity.Bundles, time.GetUtcNow()).IsValid,
    };


    private async Task ConnectAsync(ConnectionContext connection, ConnectionDelegate next, bool outerTls)
    {
        var started = time.GetTimestamp();
        using var timeout = new CancellationTokenSource(PreambleTimeout, time);
        ConnectPreamble? preamble;
        string? error;
        try
        {
            (preamble, error) = await ReadPreambleAsync(connection, timeout.Token);
        }
        catch (Exception ex) when (ex is OperationCanceledException or ConnectionResetException or IOException)
        {
            return; // slow, silent or gone before it said where to: nothing to answer
        }
        if (preamble is null)
        {
            await AnswerAsync(connection, 400, "Bad Request", error!);
            return;
        }

        var credential = outerTls ? null : credentials.Find(preamble.ProxyAuthorization);
        var caller = outerTls
            ? connection.Features.Get<Microsoft.AspNetCore.Http.Features.ITlsConnectionFeature>()?.ClientCertificate is { } certificate
                ? X509SvidValidator.Validate(certificate, null, identity.Bundles, time.GetUtcNow()).Id
                : null
            : credential?.Identity;
        if (caller is null)
        {
            // Nobody to audit: no identity was proven (the https listener never gets here without one).
            await AnswerAsync(connection, 407, "Proxy Authentication Required", "this proxy needs the per-process credential of a server the edge launched",
                "Proxy-Authenticate: Basic realm=\"fabric-egress\"\r\n");
            return;
        }
        if (caller.IsReserved)
        {
            await RefuseAsync(connection, caller, preamble, ReasonCodes.ReservedIdentity, 403, $"'{caller}' belongs to the fabric's own components", started);
            return;
        }

        string[] targets;
        try
        {
            targets = await cache.GetEgressTargetsForAsync(preamble.Authority);
        }
        catch (Exception ex) when (ClusterCalls.IsClusterFault(ex))
        {
            await RefuseAsync(connection, caller, preamble, ReasonCodes.PolicyUnavailable, 503, "the fabric could not reach its policy; retry shortly", started);
            return;
        }
        if (targets.Length != 1)
        {
            // No target: the "server calls an untrusted endpoint" case. Several: which credential and rules apply is ambiguous.
            await RefuseAsync(connection, caller, preamble, ReasonCodes.UnknownEgressTarget, 403, targets.Length == 0
                ? $"no egress target is registered for {preamble.Authority}"
                : $"{preamble.Authority} is the upstream of several egress targets ({string.Join(", ", targets)}); register one", started);
            return;
        }

        connection.Items[TunnelKey] = new EgressTunnel(caller, targets[0], preamble.Host, preamble.Port, credential);
        await connection.Transport.Output.WriteAsync("HTTP/1.1 200 Connection Established\r\n\r\n"u8.ToArray());

        // The tunnel: TLS terminated here with the egress CA's certificate for that host, then Kestrel's HTTP/1.1 on the
        // decrypted stream (this listener's connection pipeline continues over it).
        var transport = connection.Transport;
        await using var tls = new SslStream(new DuplexPipeStream(transport), leaveInnerStreamOpen: true);
        try
        {
            using var handshake = new CancellationTokenSource(PreambleTimeout, time);
            await tls.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
            {
                ServerCertificateContext = ca.For(preamble.Host),
                ApplicationProtocols = [SslApplicationProtocol.Http11],
            }, handshake.Token);
        }
        catch (Exception ex) when (ex is System.Security.Authentication.AuthenticationException or IOException or OperationCanceledException)
        {
            LogTunnelFailed(logger, caller.ToString(), preamble.Authority, ex.Message);
            return; // the client does not trust the egress CA, or went away
        }
        connection.Transport = new TunnelPipe(System.IO.Pipelines.PipeReader.Create(tls), System.IO.Pipelines.PipeWriter.Create(tls));
        try
        {
            await next(connection);
        }
        finally
        {
            connection.Transport = transport;
        }
    }

    private sealed record TunnelPipe(System.IO.Pipelines.PipeReader Input, System.IO.Pipelines.PipeWriter Output) : System.IO.Pipelines.IDuplexPipe;

    /// <summary>The connection's pipes as one stream, for the tunnel's SslStream.</summary>
    private sealed class DuplexPipeStream(System.IO.Pipelines.IDuplexPipe pipe) : Stream
    {
        private readonly Stream _input = pipe.Input.AsStream(leaveOpen: true);
        private readonly Stream _output = pipe.Output.AsStream(leaveOpen: true);

        public override bool CanRead => true;
        public override bool CanWrite => true;
        public override bool CanSeek => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override int Read(byte[] buffer, int offset, int count) => _input.Read(buffer, offset, count);
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => _input.ReadAsync(buffer, cancellationToken);
        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => _input.ReadAsync(buffer, offset, count, cancellationToken);
        public override void Write(byte[] buffer, int offset, int count) => _output.Write(buffer, offset, count);
        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) => _output.WriteAsync(buffer, cancellationToken);
        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => _output.WriteAsync(buffer, offset, count, cancellationToken);
        public override void Flush() => _output.Flush();
        public override Task FlushAsync(CancellationToken cancellationToken) => _output.FlushAsync(cancellationToken);
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }

    /// <summary>Reads exactly the preamble (to its blank line) off the connection; what follows is the tunnel's first byte.</summary>
    private static async Task<(ConnectPreamble? Preamble, string? Error)> ReadPreambleAsync(ConnectionContext connection, CancellationToken cancellationToken)
    {
        var input = connection.Transport.Input;
        while (true)
        {
            var result = await input.ReadAsync(cancellationToken);
            var buffer = result.Buffer;
            var end = ConnectPreamble.FindEnd(buffer);
            if (end > 0)
            {
                var bytes = buffer.Slice(0, end).ToArray();
                input.AdvanceTo(buffer.GetPosition(end));
                var preamble = ConnectPreamble.Parse(bytes, out var error);
                return (preamble, error);
            }
            if (end < 0 || result.IsCompleted)
            {
                input.AdvanceTo(buffer.End);
                return (null, end < 0 ? $"the request head exceeds {ConnectPreamble.MaxBytes} bytes" : "the connection ended inside the request head");
            }
            input.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    private async Task RefuseAsync(ConnectionContext connection, SpiffeId caller, ConnectPreamble preamble, string reason, int status, string detail, long started)
    {
        shipper.Enqueue(new AuditRecord
        {
            Id = Guid.CreateVersion7(time.GetUtcNow()),
            Time = time.GetUtcNow(),
            Edge = options.Value.Name,
            Workload = caller.ToString(),
            Server = preamble.Authority,
            Method = "CONNECT",
            Name = preamble.Authority,
            Allowed = false,
            Reason = reason,
            Status = status,
            LatencyMs = time.GetElapsedTime(started).TotalMilliseconds,
            Auth = "x509-svid",
            Kind = "egress",
        });
        LogRefused(logger, caller.ToString(), preamble.Authority, reason);
        await AnswerAsync(connection, status, status == 503 ? "Service Unavailable" : "Forbidden", detail, $"Fabric-Reason: {reason}\r\n");
    }

    private static async Task AnswerAsync(ConnectionContext connection, int status, string phrase, string detail, string headers = "")
    {
        var body = Encoding.UTF8.GetBytes(detail + "\n");
        var head = Encoding.ASCII.GetBytes($"HTTP/1.1 {status} {phrase}\r\n{headers}Content-Type: text/plain; charset=utf-8\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n");
        await connection.Transport.Output.WriteAsync(head);
        await connection.Transport.Output.WriteAsync(body);
        await connection.Transport.Output.CompleteAsync();
    }

    [LoggerMessage(EventId = 2401, Level = LogLevel.Information, Message = "Egress proxy listening on {Urls}")]
    private static partial void LogListening(ILogger logger, string urls);

    [LoggerMessage(EventId = 2403, Level = LogLevel.Information, Message = "Egress tunnel to {Authority} for {Caller} failed its TLS handshake: {Error}")]
    private static partial void LogTunnelFailed(ILogger logger, string caller, string authority, string error);

    [LoggerMessage(EventId = 2402, Level = LogLevel.Warning, Message = "Egress proxy refused CONNECT {Authority} from {Caller}: {Reason}")]
    private static partial void LogRefused(ILogger logger, string caller, string authority, string reason);
}
