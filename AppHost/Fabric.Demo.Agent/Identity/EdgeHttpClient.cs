using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Fabric.Demo.Agent.Identity;

/// <summary>
/// Builds the HttpClient the MCP client talks to the edge with: mTLS with the agent's SVID, and the
/// edge's certificate verified against the fabric's trust bundle only (custom root trust, never the
/// system store), with the host-name check left on.
/// </summary>
public static partial class EdgeHttpClient
{
    private static readonly Oid ServerAuth = new("1.3.6.1.5.5.7.3.1");

    public static HttpClient Create(AgentSvid svid, ILogger logger)
    {
        var handler = new SocketsHttpHandler
        {
            UseProxy = false,
            AllowAutoRedirect = false,
            UseCookies = false,
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            ConnectTimeout = TimeSpan.FromSeconds(5),
            SslOptions = new SslClientAuthenticationOptions
            {
                ClientCertificateContext = SslStreamCertificateContext.Create(svid.Certificate, svid.Intermediates, offline: true),
                RemoteCertificateValidationCallback = (_, certificate, presented, errors) =>
                    Validate(svid.Bundle, certificate, presented, errors, logger),
            },
        };
        // No overall timeout: the MCP transport keeps a GET event stream open for the whole session.
        // Callers bound each round with a cancellation token instead.
        return new HttpClient(new Http2Preferred(handler), disposeHandler: true) { Timeout = Timeout.InfiniteTimeSpan };
    }

    private static bool Validate(X509Certificate2Collection bundle, X509Certificate? certificate, X509Chain? presented,
        SslPolicyErrors errors, ILogger logger)
    {
        if (certificate is null || (errors & SslPolicyErrors.RemoteCertificateNotAvailable) != 0)
        {
            LogRejected(logger, "the edge presented no certificate");
            return false;
        }
        if ((errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0)
        {
            LogRejected(logger, "the edge certificate does not name the host in the edge URL");
            return false;
        }

        // The platform chain failed only because our root is not in the system store: rebuild it
        // against the bundle alone.
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.CustomTrustStore.AddRange(bundle);
        chain.ChainPolicy.ApplicationPolicy.Add(ServerAuth);
        if (presented is not null)
        {
            chain.ChainPolicy.ExtraStore.AddRange(presented.ChainPolicy.ExtraStore);
        }

        var leaf = certificate as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        try
        {
            if (chain.Build(leaf))
            {
                return true;
            }
            var reasons = string.Join("; ", chain.ChainStatus.Select(s => $"{s.Status}: {s.StatusInformation.Trim()}"));
            LogRejected(logger, $"the edge certificate does not chain to the fabric bundle ({reasons})");
            return false;
        }
        finally
        {
            if (!ReferenceEquals(leaf, certificate))
            {
                leaf.Dispose();
            }
        }
    }

    /// <summary>
    /// Asks for HTTP/2 (ALPN, falling back to HTTP/1.1): the MCP SDK builds its requests as HTTP/1.1,
    /// and one multiplexed connection carries the session's event stream and calls side by side.
    /// </summary>
    private sealed class Http2Preferred(HttpMessageHandler inner) : DelegatingHandler(inner)
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            request.Version = System.Net.HttpVersion.Version20;
            request.VersionPolicy = HttpVersionPolicy.RequestVersionOrLower;
            return base.SendAsync(request, cancellationToken);
        }
    }

    [LoggerMessage(EventId = 2101, Level = LogLevel.Warning, Message = "Edge TLS rejected: {Reason}")]
    private static partial void LogRejected(ILogger logger, string reason);
}
