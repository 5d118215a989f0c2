using System.Buffers;
using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Fabric.Bench.Fabric;

namespace Fabric.Bench.Load;

/// <summary>
/// One agent: its own SVID, its own connection pool (one connection per target and protocol), and
/// the fabric bundle as its only trust. Sends a request and classifies the answer: HTTP 2xx with no
/// JSON-RPC <c>error</c> member is success; anything else (403, -32003 denials, 5xx) is a failure.
/// </summary>
internal sealed class Agent : IDisposable
{
    private static readonly byte[] ErrorMember = "\"error\""u8.ToArray();
    private readonly HttpMessageInvoker _invoker;

    public Agent(Svid svid, BenchPki pki) : this(svid, pki.ValidationCallback, proxy: null)
    {
    }

    /// <summary>
    /// An MCP server's HTTP client in forward-proxy mode: every request tunnels through <paramref name="proxy"/> (the
    /// edge's plain egress listener, <paramref name="credential"/> its per-process credential, as <c>HTTPS_PROXY</c>
    /// would give it) and trusts only the egress CA, whose certificates the edge presents inside the tunnel.
    /// </summary>
    public static Agent ThroughProxy(Svid svid, Uri proxy, NetworkCredential credential, X509Certificate2 egressCa) =>
        new(svid, (_, certificate, _, _) => certificate is X509Certificate2 presented && Trusts(egressCa, presented), new WebProxy(proxy) { Credentials = credential });

    private static bool Trusts(X509Certificate2 root, X509Certificate2 presented)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(root);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(presented);
    }

    private Agent(Svid svid, RemoteCertificateValidationCallback validation, IWebProxy? proxy)
    {
        Svid = svid;
        var handler = new SocketsHttpHandler
        {
            UseProxy = proxy is not null,
            Proxy = proxy,
            AllowAutoRedirect = false,
            UseCookies = false,
            AutomaticDecompression = DecompressionMethods.None,
            PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
            ConnectTimeout = TimeSpan.FromSeconds(10),
            EnableMultipleHttp2Connections = false,
            SslOptions = new SslClientAuthenticationOptions
            {
                ClientCertificates = [svid.Certificate],
                LocalCertificateSelectionCallback = (_, _, _, _, _) => svid.Certificate,
                RemoteCertificateValidationCallback = validation,
            },
        };
        _invoker = new HttpMessageInvoker(handler, disposeHandler: true);
    }

    public Svid Svid { get; }

    public async Task<Outcome> SendAsync(BenchRequest request, Uri baseUrl, Version version, CancellationToken cancellationToken)
    {
        using var message = request.Create(baseUrl, version);
        HttpResponseMessage response;
        try
        {
            response = await _invoker.SendAsync(message, cancellationToken);
        }
        catch (HttpRequestException ex) when (ex.InnerException is HttpProtocolException)
        {
            // The edge cut the call while it ran (a revocation reaching work in flight, issue 12 §5).
            return Outcome.Cut;
        }
        using var _ = response;
        var buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
        try
        {
            await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
            var length = 0;
            int read;
            while ((read = await body.ReadAsync(buffer.AsMemory(length), cancellationToken)) > 0)
            {
                length += read;
                if (length == buffer.Length)
                {
                    var larger = ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
                    buffer.CopyTo(larger, 0);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = larger;
                }
            }
            if (!response.IsSuccessStatusCode)
            {
                return Outcome.HttpError;
            }
            return buffer.AsSpan(0, length).IndexOf(ErrorMember) >= 0 ? Outcome.RpcError : Outcome.Ok;
        }
        catch (HttpProtocolException)
        {
            // Cut after its headers, while the body streamed: the same revocation of work in flight.
            return Outcome.Cut;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>A call whose answer is read as it streams: the response (headers read) for the caller to read and dispose.</summary>
    public async Task<HttpResponseMessage> OpenAsync(BenchRequest request, Uri baseUrl, CancellationToken cancellationToken)
    {
        using var message = request.Create(baseUrl, HttpVersion.Version20);
        return await _invoker.SendAsync(message, cancellationToken);
    }

    /// <summary>For preflight checks and diagnostics: status and body as text.</summary>
    public async Task<(int Status, string Body)> SendForTextAsync(BenchRequest request, Uri baseUrl, Version version, CancellationToken cancellationToken)
    {
        using var message = request.Create(baseUrl, version);
        using var response = await _invoker.SendAsync(message, cancellationToken);
        return ((int)response.StatusCode, await response.Content.ReadAsStringAsync(cancellationToken));
    }

    public void Dispose() => _invoker.Dispose();
}

internal enum Outcome
{
    Ok,
    RpcError,
    HttpError,
    Exception,
    /// <summary>The stream was reset mid-call (the edge cut work in flight).</summary>
    Cut,
}
