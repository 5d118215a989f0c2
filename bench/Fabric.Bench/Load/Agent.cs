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

    public Agent(Svid svid, BenchPki pki)
    {
        Svid = svid;
        var handler = new SocketsHttpHandler
        {
            UseProxy = false,
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
                RemoteCertificateValidationCallback = pki.ValidationCallback,
            },
        };
        _invoker = new HttpMessageInvoker(handler, disposeHandler: true);
    }

    public Svid Svid { get; }

    public async Task<Outcome> SendAsync(BenchRequest request, Uri baseUrl, Version version, CancellationToken cancellationToken)
    {
        using var message = request.Create(baseUrl, version);
        using var response = await _invoker.SendAsync(message, cancellationToken);
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
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
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
}
