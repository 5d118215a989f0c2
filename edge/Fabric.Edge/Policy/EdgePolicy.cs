using Fabric.Contracts.Policy;
using Fabric.Edge.Mcp;
using Fabric.Edge.Pipeline;

namespace Fabric.Edge.Policy;

/// <summary>
/// THE decision, for every request through <c>/mcp/{server}</c> (POST messages, the GET event stream and the
/// DELETE session end alike); nothing else in the edge decides, and nothing forwards what this did not allow.
/// <code>
///   workload disabled                           → workload-disabled   (server level)
///   no allow rule names the server              → no-matching-allow   (server level)
///   GET / DELETE                                → the protocol gate   (a whole-server deny closes them)
///   method not in its generation's table        → unknown-method      (a known name sent as the wrong kind or version)
///   everything else                             → PolicyEvaluator     (tools, resources, prompts, extension methods)
/// </code>
/// Pure: the grant, the message and the generation in; a decision out.
/// </summary>
internal static class EdgePolicy
{
    /// <returns>The decision, and whether it is about the whole server (answered at the HTTP level).</returns>
    public static (Decision Decision, bool ServerLevel) Decide(McpExchange exchange)
    {
        var grant = exchange.Bearer ? exchange.Grant.ForBearer() : exchange.Grant;
        if (!grant.Enabled)
        {
            return (Decision.Deny(ReasonCodes.WorkloadDisabled, grant.Version), true);
        }
        if (!grant.AllowsServer)
        {
            return (Decision.Deny(ReasonCodes.NoMatchingAllow, grant.Version), true);
        }
        if (exchange.Message is not { } message)
        {
            // The transport operations: exchange.Method is EventStreamMethod or SessionEndMethod.
            return (PolicyEvaluator.Decide(grant, new McpCall(exchange.Method)), false);
        }
        if (!InTable(message, exchange.Generation))
        {
            return (Decision.Deny(ReasonCodes.UnknownMethod, grant.Version), false);
        }
        return (PolicyEvaluator.Decide(grant, message.ToCall()), false);
    }

    /// <summary>
    /// True when the message is in the method table of its generation, or names an extension method (which only a
    /// rule naming it can allow). A known method sent as the wrong kind (<c>tools/call</c> without an id) or in the
    /// wrong generation (<c>initialize</c> to a 2026-07-28 server) is in no table.
    /// </summary>
    private static bool InTable(McpMessage message, McpGeneration generation) => message.Kind switch
    {
        McpMessageKind.Response => McpMethods.AcceptsResponses(generation),
        _ when McpMethods.Classify(message.Method!) == McpCallKind.Extension => true,
        McpMessageKind.Request => McpMethods.IsRequest(generation, message.Method!),
        _ => McpMethods.IsNotification(generation, message.Method!),
    };
}
