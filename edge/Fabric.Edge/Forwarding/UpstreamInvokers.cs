using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using Fabric.Contracts.Servers;
using Fabric.Edge.Identity;
using Yarp.ReverseProxy.Forwarder;

namespace Fabric.Edge.Forwarding;

/// <summary>
/// One <see cref="HttpMessageInvoker"/> per server revision, configured as YARP's forwarder wants
/// (no proxy, no redirects, no decompression, no cookies, several HTTP/2 connections). For a server
/// with an <c>identity</c> the edge presents its own SVID and accepts only an upstream certificate
/// that validates as exactly that SPIFFE ID under the trust bundle; without one, https upstreams get
/// ordinary WebPKI validation with the host name.
/// </summary>
internal sealed class UpstreamInvokers(NodeIdentity identity, TimeProvider time) : IDisposable
{
    private readonly ConcurrentDictionary<string, (long Revision, HttpMessageInvoker Invoker)> _invokers = new(StringComparer.Ordinal);

    public HttpMessageInvoker For(McpServerDefinition server)
    {
        if (_invokers.TryGetValue(server.Name, out var entry) && entry.Revision == server.Revision)
        {
            return entry.Invoker;
        }
        var created = (server.Revision, Create(server));
        var stored = _invokers.AddOrUpdate(server.Name, created, (_, existing) => existing.Revision >= server.Revision ? existing : created);
        if (!ReferenceEquals(stored.Invoker, created.Item2))
        {
            created.Item2.Dispose();
        }
        // A replaced invoker is not disposed here: requests may still be in flight on it; its idle
        // connections close after PooledConnectionIdleTimeout.
        return stored.Invoker;
    }

    private HttpMessageInvoker Create(McpServerDefinition server)
    {
        var handler = new SocketsHttpHandler
        {
            UseProxy = false,
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            UseCookies = false,
            EnableMultipleHttp2Connections = true,
            ActivityHeadersPropagator = new ReverseProxyPropagator(DistributedContextPropagator.Current),
            ConnectTimeout = TimeSpan.FromSeconds(10),
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(1),
        };
        if (server.Identity is { } expected)
        {
            handler.SslOptions.LocalCertificateSelectionCallback = (_, _, _, _, _) => identity.Current.Certificate;
            handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, chain, _) =>
                certificate is X509Certificate2 presented
                && X509SvidValidator.ValidateExpected(presented, chain?.ChainPolicy.ExtraStore, identity.Bundles, time.GetUtcNow(), expected).IsValid;
        }
        else if (server.CaFile is { } caFile)
        {
            // Roots of the operator's choosing (an egress target's tls.caFile) instead of the system's: the host name and
            // serverAuth are still checked. An unreadable file trusts nothing.
            var roots = ReadRoots(caFile);
            handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, chain, errors) =>
                CustomRootTrust.IsTrustedServer(certificate, chain, errors, roots, CustomRootTrust.ServerAuth);
        }
        return new HttpMessageInvoker(handler, disposeHandler: true);
    }

    private static X509Certificate2Collection ReadRoots(string path)
    {
        try
        {
            return SvidPem.LoadCertificates(File.ReadAllText(path));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException)
        {
            return [];
        }
    }

    public void Dispose()
    {
        foreach (var (_, invoker) in _invokers.Values)
        {
            invoker.Dispose();
        }
        _invokers.Clear();
    }
}
