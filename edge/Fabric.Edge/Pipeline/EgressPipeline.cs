using Fabric.Contracts.Policy;
using Fabric.Edge.Audit;
using Fabric.Edge.Credentials;
using Fabric.Edge.Egress;
using Fabric.Edge.Forwarding;
using Fabric.Edge.Identity;
using Fabric.Edge.Routing;
using Microsoft.AspNetCore.Http.Features;

namespace Fabric.Edge.Pipeline;

/// <summary>
/// The egress leg in base-URL mode: an MCP server's SDK points at <c>https://&lt;edge&gt;/egress/{target}</c> and presents
/// its SVID; the edge decides the outbound call on (server identity, target, method, path), splices the target's
/// credential, forwards to the target's upstream (Web PKI, or the target's <c>tls.caFile</c>), masks the credential out
/// of the answer and audits the call. The same steps, and the same refusal table, as <see cref="McpPipeline"/>:
/// <code>
///   :: 1 Identity     the caller's SVID (the MCP server's identity); /fabric/ IDs → 403
///   :: 2 Path         the request line's path after the target, canonical or refused (egress-not-allowed)
///   :: 3 Routing      egress target + egress grant (cache │ grains) → 404 unknown-egress-target │ 503
///   :: 4 Policy       EgressEvaluator: default deny, deny wins (egress-not-allowed │ explicit-deny)
///   :: 5 Credentials  the target's lease (503 credential-unavailable)
///   :: 6 Forwarding   YARP → upstream + path + query; the answer masked of the credential
///   :: 7 Audit        one record (kind egress) per call
/// </code>
/// </summary>
internal sealed class EgressPipeline(
    ServerRouting routing,
    CredentialSplice credentials,
    McpForwarder forwarder,
    ExchangeAudit audit,
    EdgeJoin join,
    CallAttribution attribution,
    TimeProvider time)
{
    public const string Prefix = "/egress/";

    public async Task HandleAsync(HttpContext context, string target)
    {
        var exchange = new McpExchange(context, target, time) { IsEgress = true };
        // :: 1 Identity
        if (!await McpPipeline.IdentifyAsync(exchange, join))
        {
            return;
        }
        using var scope = audit.Begin(exchange);
        if (await McpPipeline.RefusedAsReservedAsync(exchange))
        {
            return;
        }

        // :: 2 Path: decided and forwarded as one string, the one the request line carried.
        await RunAsync(exchange, SplitRawTarget(context.Features.Get<IHttpRequestFeature>()?.RawTarget ?? "", target));
    }

    /// <summary>
    /// Forward-proxy mode: a request inside a tunnel <see cref="EgressProxy"/> established for <paramref name="tunnel"/>'s
    /// identity to its target; the request line is origin-form (<c>/path?query</c>), forwarded to the target's authority.
    /// </summary>
    public async Task HandleProxiedAsync(HttpContext context, EgressTunnel tunnel)
    {
        var exchange = new McpExchange(context, tunnel.Target, time) { IsEgress = true, Proxied = true };
        exchange.Workload = tunnel.Identity;
        // A per-workload launched server's calls are its one agent's: the call it is working on is the parent.
        exchange.ParentRecordId = tunnel.Credential?.Parent;
        exchange.OnBehalfOf = tunnel.Credential?.Agent;
        exchange.BundleSequence = join.SequenceOf(tunnel.Identity.TrustDomain);
        using var scope = audit.Begin(exchange);
        var raw = context.Features.Get<IHttpRequestFeature>()?.RawTarget ?? "";
        var queryAt = raw.IndexOf('?', StringComparison.Ordinal);
        await RunAsync(exchange, raw.StartsWith('/')
            ? (queryAt < 0 ? raw : raw[..queryAt], queryAt < 0 ? "" : raw[queryAt..], null)
            : (raw, "", "inside a tunnel the request line names a path ('/…'), not another host"));
    }

    private async Task RunAsync(McpExchange exchange, (string? Path, string Query, string? Error) line)
    {
        var context = exchange.Context;
        var target = exchange.ServerName;
        var (path, query, error) = line;
        exchange.Name = path;
        if (error is not null || EgressPaths.Canonicalize(path!, out error) is null)
        {
            await Refusals.RefuseAsync(exchange, ReasonCodes.EgressNotAllowed, $"The request path is refused: {error}.");
            return;
        }
        exchange.EgressPathAndQuery = path + query;
        exchange.ParentRecordId ??= attribution.Find(context.Request.Headers.TraceParent);

        // :: 3 Routing
        if (!await routing.RouteAsync(exchange))
        {
            return;
        }
        if (exchange.Bearer)
        {
            exchange.Grant = exchange.Grant.ForBearer();
        }
        credentials.Begin(exchange);

        // :: 4 Policy
        var decision = EgressEvaluator.Decide(exchange.Grant, new EgressCall(target, context.Request.Method, path!));
        exchange.Decide(decision);
        if (!decision.Allowed)
        {
            await Refusals.WriteAsync(exchange, decision.Reason,
                $"'{exchange.Workload}' may not {context.Request.Method} {path} on egress target '{target}'.");
            return;
        }

        // :: 5 Credentials (and placeholders), :: 6 Forwarding
        if (!await credentials.LeaseAsync(exchange))
        {
            return;
        }
        if (EgressPlaceholders.Check(context.Request.Headers, target, exchange.Credential is not null) is { } placeholderError)
        {
            await Refusals.RefuseAsync(exchange, ReasonCodes.EgressNotAllowed, placeholderError);
            return;
        }
        await forwarder.ForwardAsync(exchange);
    }

    /// <summary>
    /// The path (after <c>/egress/{target}</c>, "/" when nothing follows) and the query (with its '?') of the request
    /// line as sent; an error when the line does not spell the target exactly as routed (an escape in it, another form).
    /// </summary>
    public static (string? Path, string Query, string? Error) SplitRawTarget(string rawTarget, string target)
    {
        var queryAt = rawTarget.IndexOf('?', StringComparison.Ordinal);
        var rawPath = queryAt < 0 ? rawTarget : rawTarget[..queryAt];
        var query = queryAt < 0 ? "" : rawTarget[queryAt..];
        var prefix = Prefix + target;
        if (!rawPath.StartsWith(prefix, StringComparison.Ordinal) || (rawPath.Length > prefix.Length && rawPath[prefix.Length] != '/'))
        {
            return (rawPath, query, $"the request line does not name '{prefix}' as is");
        }
        var rest = rawPath[prefix.Length..];
        return (rest.Length == 0 ? "/" : rest, query, null);
    }
}

/// <summary>
/// Placeholders (issue 11 §2c): where a server's SDK insists on an API key, its configuration holds
/// <c>fabric:&lt;target&gt;</c>, worthless anywhere but through this edge, which replaces it in request headers with the
/// target's leased secret. A placeholder for any other target (or for a target without a credential) is refused, never
/// forwarded: it would tell an upstream which keys the fabric holds, or aim one target's key at another.
/// </summary>
internal static class EgressPlaceholders
{
    public const string Prefix = "fabric:";

    /// <summary>Null when every placeholder in <paramref name="headers"/> names <paramref name="target"/> (and there is a secret to put there), else why not.</summary>
    public static string? Check(IHeaderDictionary headers, string target, bool hasCredential)
    {
        foreach (var (name, values) in headers)
        {
            foreach (var value in values)
            {
                for (var at = value?.IndexOf(Prefix, StringComparison.OrdinalIgnoreCase) ?? -1; at >= 0; at = value!.IndexOf(Prefix, at + Prefix.Length, StringComparison.OrdinalIgnoreCase))
                {
                    var end = at + Prefix.Length;
                    while (end < value!.Length && (char.IsAsciiLetterLower(value[end]) || char.IsAsciiDigit(value[end]) || value[end] == '-'))
                    {
                        end++;
                    }
                    var named = value[(at + Prefix.Length)..end];
                    if (!string.Equals(value.Substring(at, Prefix.Length), Prefix, StringComparison.Ordinal) || named != target)
                    {
                        return $"header '{name}' holds a placeholder for another egress target ('{value.Substring(at, Math.Min(end - at, 80))}'); only '{Prefix}{target}' is replaced here";
                    }
                    if (!hasCredential)
                    {
                        return $"header '{name}' holds '{Prefix}{target}', but egress target '{target}' has no credential to put there";
                    }
                }
            }
        }
        return null;
    }

    /// <summary><paramref name="value"/> with every <c>fabric:&lt;target&gt;</c> replaced by <paramref name="secret"/>.</summary>
    public static string Fill(string value, string target, string secret) => value.Replace(Prefix + target, secret, StringComparison.Ordinal);
}
