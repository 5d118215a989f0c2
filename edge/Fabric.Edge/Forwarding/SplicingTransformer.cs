using Fabric.Edge.Caching;
using Microsoft.AspNetCore.Http.Features;
using Fabric.Edge.Mcp;
using Yarp.ReverseProxy.Forwarder;

namespace Fabric.Edge.Forwarding;

/// <summary>
/// Rewrites the forwarded request: the upstream URL instead of <c>/mcp/{server}</c>, the agent's own
/// credentials removed (<c>Authorization</c>, <c>Proxy-Authorization</c> and whatever header the
/// binding injects), the leased credential spliced in. On the way back it binds a freshly minted
/// <c>Mcp-Session-Id</c> to the calling workload before the agent can see it.
/// </summary>
internal sealed class SplicingTransformer(EdgeCache cache) : HttpTransformer
{
    public override async ValueTask TransformRequestAsync(HttpContext httpContext, HttpRequestMessage proxyRequest, string destinationPrefix, CancellationToken cancellationToken)
    {
        await base.TransformRequestAsync(httpContext, proxyRequest, destinationPrefix, cancellationToken);
        var state = httpContext.Features.GetRequiredFeature<ForwardState>();

        var query = httpContext.Request.QueryString;
        proxyRequest.RequestUri = query.HasValue ? new Uri(state.Upstream + query.Value) : state.Upstream;
        proxyRequest.Headers.Host = null;

        proxyRequest.Headers.Remove("Authorization");
        proxyRequest.Headers.Remove("Proxy-Authorization");
        if (state.Server.Credential is { } binding)
        {
            proxyRequest.Headers.Remove(binding.Inject.Header);
        }
        if (state.Credential is { } credential)
        {
            proxyRequest.Headers.TryAddWithoutValidation(credential.HeaderName, credential.HeaderValue);
        }
    }

    public override async ValueTask<bool> TransformResponseAsync(HttpContext httpContext, HttpResponseMessage? proxyResponse, CancellationToken cancellationToken)
    {
        var proxied = await base.TransformResponseAsync(httpContext, proxyResponse, cancellationToken);
        var state = httpContext.Features.GetRequiredFeature<ForwardState>();
        state.UpstreamStatus = proxyResponse is null ? null : (int)proxyResponse.StatusCode;
        if (state.BufferResponse)
        {
            httpContext.Response.Headers.ContentLength = null;
        }
        if (proxyResponse is not null
            && proxyResponse.Headers.TryGetValues(McpHeaders.SessionId, out var values)
            && values.FirstOrDefault() is { Length: > 0 } sessionId
            && !httpContext.Request.Headers.ContainsKey(McpHeaders.SessionId))
        {
            if (!await cache.BindSessionAsync(state.Server.Name, sessionId, state.Workload))
            {
                // An upstream handed out an id already bound to another workload: never pass it on.
                state.SessionRejected = true;
                httpContext.Response.Headers.Remove(McpHeaders.SessionId);
                httpContext.Response.StatusCode = StatusCodes.Status502BadGateway;
                return false;
            }
        }
        return proxied;
    }
}
