using System.Net.Http.Headers;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Microsoft.Extensions.Logging;
using ModelContextProtocol.Client;

namespace Fabric.Edge.Tests.Fixtures;

/// <summary>The two MCP protocol generations an edge must carry.</summary>
public enum ProtocolGeneration
{
    /// <summary>2025-11-25: initialize, Mcp-Session-Id, GET stream, DELETE at dispose.</summary>
    Sessions2025,
    /// <summary>2026-07-28: stateless, server/discover, Mcp-Method / Mcp-Name headers on every request.</summary>
    Stateless2026,
}

/// <summary>A connected SDK client and the HttpClient under it (not owned by the transport).</summary>
public sealed class ConnectedMcpClient(McpClient client, HttpClient httpClient) : IAsyncDisposable
{
    public McpClient Client { get; } = client;

    public HttpClient HttpClient { get; } = httpClient;

    public async ValueTask DisposeAsync()
    {
        await Client.DisposeAsync();
        HttpClient.Dispose();
    }
}

public static class McpClients
{
    public const string SessionsVersion = "2025-11-25";
    public const string StatelessVersion = "2026-07-28";

    /// <summary>The version the SDK client is told to speak (null lets 2.4.0 default to 2026-07-28).</summary>
    public static string? ProtocolVersionFor(ProtocolGeneration generation) =>
        generation == ProtocolGeneration.Sessions2025 ? SessionsVersion : null;

    /// <summary>An HttpClient over an HttpClientHandler carrying an optional client certificate.</summary>
    public static HttpClient CreateHttpClient(
        X509Certificate2? clientCertificate = null,
        Func<HttpRequestMessage, X509Certificate2?, X509Chain?, SslPolicyErrors, bool>? serverCertificateValidation = null)
    {
        var handler = new HttpClientHandler { UseProxy = false, AllowAutoRedirect = false, UseCookies = false };
        if (clientCertificate is not null)
        {
            handler.ClientCertificateOptions = ClientCertificateOption.Manual;
            handler.ClientCertificates.Add(clientCertificate);
        }

        if (serverCertificateValidation is not null)
        {
            handler.ServerCertificateCustomValidationCallback = serverCertificateValidation;
        }

        return new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(30) };
    }

    public static async Task<ConnectedMcpClient> ConnectAsync(
        Uri endpoint,
        ProtocolGeneration generation,
        X509Certificate2? clientCertificate = null,
        Func<HttpRequestMessage, X509Certificate2?, X509Chain?, SslPolicyErrors, bool>? serverCertificateValidation = null,
        ILoggerFactory? loggerFactory = null,
        string? bearerToken = null,
        McpClientHandlers? handlers = null,
        CancellationToken cancellationToken = default)
    {
        var httpClient = CreateHttpClient(clientCertificate, serverCertificateValidation);
        if (bearerToken is not null)
        {
            // What an agent behind a TLS-terminating load balancer sends instead of a client certificate.
            httpClient.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", bearerToken);
        }
        try
        {
            var transport = new HttpClientTransport(
                new HttpClientTransportOptions { Endpoint = endpoint, TransportMode = HttpTransportMode.StreamableHttp },
                httpClient, loggerFactory, ownsHttpClient: false);
            var client = await McpClient.CreateAsync(
                transport,
                new McpClientOptions { ProtocolVersion = ProtocolVersionFor(generation), Handlers = handlers ?? new McpClientHandlers() },
                loggerFactory,
                cancellationToken);
            return new ConnectedMcpClient(client, httpClient);
        }
        catch
        {
            httpClient.Dispose();
            throw;
        }
    }

    // ---- Raw wire helpers: what an SDK client would put on the wire, by hand, to capture exact bodies. ----

    /// <summary>POSTs one JSON-RPC body with the Accept header Streamable HTTP requires ("Sending Messages" 2).</summary>
    public static async Task<HttpResponseMessage> PostAsync(
        HttpClient httpClient, Uri endpoint, string json, IReadOnlyDictionary<string, string>? headers = null, CancellationToken cancellationToken = default)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, endpoint)
        {
            Content = new StringContent(json, Encoding.UTF8, "application/json"),
        };
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        foreach (var (name, value) in headers ?? new Dictionary<string, string>())
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        return await httpClient.SendAsync(request, cancellationToken);
    }

    /// <summary>The JSON-RPC message of an answer body: the body itself, or the last <c>data:</c> line of an SSE answer.</summary>
    public static string MessageOf(string body) =>
        body.StartsWith("event:", StringComparison.Ordinal) || body.StartsWith("data:", StringComparison.Ordinal)
            ? body.Split('\n').Last(l => l.StartsWith("data:", StringComparison.Ordinal))[5..]
            : body;

    /// <summary>2025-11-25 handshake by hand: initialize, then notifications/initialized. Returns the session id.</summary>
    public static async Task<string> InitializeSessionAsync(HttpClient httpClient, Uri endpoint, CancellationToken cancellationToken = default)
    {
        const string Initialize = """
            {"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}
            """;
        using var initialized = await PostAsync(httpClient, endpoint, Initialize, cancellationToken: cancellationToken);
        initialized.EnsureSuccessStatusCode();
        var sessionId = initialized.Headers.GetValues("Mcp-Session-Id").Single();
        await initialized.Content.ReadAsStringAsync(cancellationToken);

        using var notified = await PostAsync(httpClient, endpoint, """{"jsonrpc":"2.0","method":"notifications/initialized"}""",
            SessionHeaders(sessionId), cancellationToken);
        notified.EnsureSuccessStatusCode();
        return sessionId;
    }

    public static Dictionary<string, string> SessionHeaders(string sessionId) => new()
    {
        ["Mcp-Session-Id"] = sessionId,
        ["MCP-Protocol-Version"] = SessionsVersion,
    };

    /// <summary>The headers a 2026-07-28 client mirrors from the body (Streamable HTTP, "Request Metadata").</summary>
    public static Dictionary<string, string> StatelessHeaders(string method, string? name = null)
    {
        var headers = new Dictionary<string, string>
        {
            ["MCP-Protocol-Version"] = StatelessVersion,
            ["Mcp-Method"] = method,
        };
        if (name is not null)
        {
            headers["Mcp-Name"] = name;
        }

        return headers;
    }

    /// <summary>A 2026-07-28 request body: params carry _meta with the protocol version and capabilities.</summary>
    public static string StatelessRequest(int id, string method, string paramsMembers = "")
    {
        var separator = paramsMembers.Length > 0 ? "," : "";
        return "{\"jsonrpc\":\"2.0\",\"id\":" + id + ",\"method\":\"" + method + "\",\"params\":{" + paramsMembers + separator
            + "\"_meta\":{\"io.modelcontextprotocol/protocolVersion\":\"" + StatelessVersion + "\",\"io.modelcontextprotocol/clientCapabilities\":{}}}}";
    }
}
