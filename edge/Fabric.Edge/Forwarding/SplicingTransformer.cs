using System.Collections.Frozen;
using System.Net.Http.Headers;
using Fabric.Contracts.Policy;
using Fabric.Edge.Caching;
using Fabric.Edge.Filters;
using Fabric.Edge.Mcp;
using Fabric.Edge.Pipeline;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Primitives;
using Yarp.ReverseProxy.Forwarder;

using Fabric.Edge.Hosting;

namespace Fabric.Edge.Forwarding;

/// <summary>
/// Rewrites the forwarded request: the upstream URL instead of <c>/mcp/{server}</c>; of the agent's headers only the
/// MCP transport's own pass (so its credentials, <c>Authorization</c>, <c>Proxy-Authorization</c>, the binding's header,
/// its forwarding headers and headers its <c>Connection</c> lists never reach the upstream); the edge's own <c>Forwarded</c> and <c>Accept-Encoding: identity</c> (the answer must be
/// scannable) set; the leased credential spliced in. On the way back: a compressed answer is refused, a freshly
/// minted <c>Mcp-Session-Id</c> is bound to the calling workload before the agent can see it, and response
/// headers are masked of the credential.
/// </summary>
internal sealed class SplicingTransformer(EdgeCache cache) : HttpTransformer
{
    /// <summary>Request headers forwarded besides every <c>Mcp-*</c> header (the MCP transport's own).</summary>
    private static readonly FrozenSet<string> Forwardable = FrozenSet.Create(StringComparer.OrdinalIgnoreCase,
        "Accept", "Accept-Language", "User-Agent", "Last-Event-ID", "traceparent", "tracestate", "baggage");

    /// <summary>The headers .NET keeps on <see cref="HttpContent"/> (its known content headers), not on the request.</summary>
    private static readonly FrozenSet<string> ContentHeaders = FrozenSet.Create(StringComparer.OrdinalIgnoreCase,
        "Allow", "Content-Disposition", "Content-Encoding", "Content-Language", "Content-Length", "Content-Location",
        "Content-MD5", "Content-Range", "Content-Type", "Expires", "Last-Modified");

    private static bool IsForwardable(string name) =>
        name.StartsWith("Mcp-", StringComparison.OrdinalIgnoreCase) || Forwardable.Contains(name);

    public override async ValueTask TransformRequestAsync(HttpContext httpContext, HttpRequestMessage proxyRequest, string destinationPrefix, CancellationToken cancellationToken)
    {
        await base.TransformRequestAsync(httpContext, proxyRequest, destinationPrefix, cancellationToken);
        var exchange = httpContext.Features.GetRequiredFeature<McpExchange>();
        var server = exchange.Server!;
        if (exchange.IsEgress)
        {
            TransformEgressRequest(httpContext, proxyRequest, exchange, server);
            return;
        }

        var query = httpContext.Request.QueryString;
        proxyRequest.RequestUri = query.HasValue ? new Uri(server.Upstream + query.Value) : server.Upstream;
        proxyRequest.Headers.Host = null;

        // Only the headers MCP needs reach the upstream; whatever else an agent sends (forwarding headers it cannot
        // vouch for, X-Forwarded-*, Forwarded, X-Real-IP; headers its Connection lists, RFC 9110 §7.6.1, which Kestrel
        // does not show in full) does not. Content headers (type, length) travel on the content and stay.
        // The agent's header names, not the proxy request's (enumerating HttpHeaders allocates per header); enumerated,
        // not read through Keys (Kestrel builds a set of every name for that).
        foreach (var (name, _) in httpContext.Request.Headers)
        {
            // Content headers travel on the content (HttpRequestHeaders refuses them) and stay.
            if (!IsForwardable(name) && !ContentHeaders.Contains(name))
            {
                proxyRequest.Headers.Remove(name);
            }
        }
        foreach (var name in ConnectionListed(httpContext))
        {
            proxyRequest.Headers.Remove(name);
        }
        // RFC 7239: the edge is the first hop the fabric vouches for; it names the agent's address it saw.
        proxyRequest.Headers.TryAddWithoutValidation("Forwarded", ForwardedFor(httpContext));
        // Set as text: the typed AcceptEncoding collection parses and allocates for a header the edge only replaces.
        proxyRequest.Headers.Remove("Accept-Encoding");
        proxyRequest.Headers.TryAddWithoutValidation("Accept-Encoding", "identity");

        proxyRequest.Headers.Remove("Authorization");
        proxyRequest.Headers.Remove("Proxy-Authorization");
        if (server.Credential is { } binding)
        {
            proxyRequest.Headers.Remove(binding.Inject.Header);
        }
        if (exchange.Credential is { } credential)
        {
            proxyRequest.Headers.TryAddWithoutValidation(credential.HeaderName, credential.HeaderValue);
        }
    }

    /// <summary>The headers the request's <c>Connection</c> header lists: hop-by-hop, never forwarded (RFC 9110 §7.6.1).</summary>
    private static string[] ConnectionListed(HttpContext httpContext)
    {
        var listed = httpContext.Request.Headers.Connection;
        // Nothing allocated on the common path (no Connection header, as on every HTTP/2 request).
        return listed.Count == 0
            ? []
            : [.. listed.SelectMany(value => (value ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))];
    }

    /// <summary>Request headers of an MCP server's outbound call that never pass: they are the edge's to set, or proxy-only.</summary>
    private static readonly FrozenSet<string> EgressDropped = FrozenSet.Create(StringComparer.OrdinalIgnoreCase,
        "Authorization", "Proxy-Authorization", "Forwarded", "X-Real-IP", "Accept-Encoding", "Cookie");

    /// <summary>
    /// An MCP server's outbound call (<c>/egress/{target}/...</c>): the target's base URL plus exactly the path that was
    /// decided and the query; the server's own headers pass (it is calling an API, not speaking MCP) except those the
    /// edge owns: credentials (the binding's header, <c>Authorization</c>, cookies), forwarding headers, those its
    /// <c>Connection</c> lists; <c>Accept-Encoding: identity</c> so the answer can be scanned for the spliced key.
    /// </summary>
    private static void TransformEgressRequest(HttpContext httpContext, HttpRequestMessage proxyRequest, McpExchange exchange, Fabric.Contracts.Servers.McpServerDefinition target)
    {
        // Base-URL mode appends to the target's base URL; through the proxy the server already names the whole path.
        var origin = exchange.Proxied ? target.Upstream.GetLeftPart(UriPartial.Authority) : target.Upstream.GetLeftPart(UriPartial.Path).TrimEnd('/');
        proxyRequest.RequestUri = new Uri(origin + exchange.EgressPathAndQuery);
        proxyRequest.Headers.Host = null;
        foreach (var name in httpContext.Request.Headers.Keys)
        {
            if (EgressDropped.Contains(name) || name.StartsWith("X-Forwarded-", StringComparison.OrdinalIgnoreCase) || name.StartsWith("Proxy-", StringComparison.OrdinalIgnoreCase))
            {
                proxyRequest.Headers.Remove(name);
            }
        }
        foreach (var name in ConnectionListed(httpContext))
        {
            proxyRequest.Headers.Remove(name);
            proxyRequest.Content?.Headers.Remove(name);
        }
        proxyRequest.Headers.AcceptEncoding.Clear();
        proxyRequest.Headers.AcceptEncoding.Add(new StringWithQualityHeaderValue("identity"));
        if (target.Credential is { } binding)
        {
            proxyRequest.Headers.Remove(binding.Inject.Header);
            // Placeholders (checked by the pipeline: each names this target) become the secret itself.
            if (exchange.Credential is { } leased && binding.Inject.Extract(leased.HeaderValue) is { } secret)
            {
                foreach (var (name, values) in proxyRequest.Headers.Where(h => h.Value.Any(v => v.Contains(EgressPlaceholders.Prefix, StringComparison.Ordinal))).ToList())
                {
                    proxyRequest.Headers.Remove(name);
                    proxyRequest.Headers.TryAddWithoutValidation(name, values.Select(v => EgressPlaceholders.Fill(v, exchange.ServerName, secret)));
                }
            }
        }
        if (exchange.Credential is { } credential)
        {
            proxyRequest.Headers.TryAddWithoutValidation(credential.HeaderName, credential.HeaderValue);
        }
    }

    public override async ValueTask<bool> TransformResponseAsync(HttpContext httpContext, HttpResponseMessage? proxyResponse, CancellationToken cancellationToken)
    {
        var proxied = await base.TransformResponseAsync(httpContext, proxyResponse, cancellationToken);
        var exchange = httpContext.Features.GetRequiredFeature<McpExchange>();
        exchange.UpstreamStatus = proxyResponse is null ? null : (int)proxyResponse.StatusCode;
        if (proxyResponse is null)
        {
            return proxied;
        }

        var encoding = httpContext.Response.Headers.ContentEncoding;
        if (encoding.Count > 0 && !(encoding.Count == 1 && string.Equals(encoding[0], "identity", StringComparison.OrdinalIgnoreCase)))
        {
            // Asked for identity and got something else: a compressed answer cannot be scanned for the credential.
            return Reject(httpContext, exchange, ReasonCodes.UpstreamProtocolError);
        }

        if (!exchange.IsEgress
            && proxyResponse.Headers.TryGetValues(McpHeaders.SessionId, out var values)
            && values.FirstOrDefault() is { Length: > 0 } sessionId
            && !httpContext.Request.Headers.ContainsKey(McpHeaders.SessionId)
            && !await cache.BindSessionAsync(exchange.Server!.Name, sessionId, exchange.Workload!))
        {
            // An upstream handed out an id already bound to another workload: never pass it on.
            return Reject(httpContext, exchange, ReasonCodes.SessionBindingMismatch);
        }

        MaskHeaders(httpContext.Response.Headers, exchange);
        if (exchange.BufferResponse)
        {
            httpContext.Response.Headers.ContentLength = null;
        }
        return proxied;
    }

    /// <summary>Keeps the answer from the agent: no header and no byte of it is sent; the pipeline answers 502.</summary>
    private static bool Reject(HttpContext httpContext, McpExchange exchange, string reason)
    {
        exchange.UpstreamRefusal = reason;
        httpContext.Response.Headers.Clear();
        return false;
    }

    private static void MaskHeaders(IHeaderDictionary headers, McpExchange exchange)
    {
        var needles = exchange.Needles;
        if (needles.IsEmpty)
        {
            return;
        }
        List<(string Name, StringValues Values)>? changes = null;
        foreach (var (name, values) in headers)
        {
            string[]? masked = null;
            for (var i = 0; i < values.Count; i++)
            {
                var value = values[i] ?? "";
                var replaced = CredentialRedactor.MaskHeader(needles, value, out var count);
                if (count > 0)
                {
                    masked ??= values.ToArray()!;
                    masked[i] = replaced;
                    exchange.CredentialReflected += count;
                }
            }
            if (masked is not null)
            {
                (changes ??= []).Add((name, new StringValues(masked)));
            }
        }
        if (changes is null)
        {
            return;
        }
        foreach (var (name, values) in changes)
        {
            headers[name] = values;
        }
    }

    private const string ForwardedKey = "fabric.forwarded";

    /// <summary>The <c>Forwarded</c> value for the agent's address, formatted once per connection (the address is the connection's).</summary>
    private static string ForwardedFor(HttpContext context) =>
        PerConnection.GetOrAdd(context, ForwardedKey, 0, static (connection, _) => FormatForwardedFor(connection));

    private static string FormatForwardedFor(HttpContext context)
    {
        var address = context.Connection.RemoteIpAddress is { IsIPv4MappedToIPv6: true } mapped ? mapped.MapToIPv4() : context.Connection.RemoteIpAddress;
        var node = address is null ? "unknown"
            : address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"\"[{address}]\"" : address.ToString();
        return $"for={node};proto={context.Request.Scheme}";
    }
}
