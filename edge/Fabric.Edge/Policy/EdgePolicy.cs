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
        var grant = GrantOf(exchange);
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
        return (PolicyEvaluator.Decide(grant, CallOf(exchange, grant, message)), false);
    }

    /// <summary>The grant a decision on this exchange is made under (a bearer caller's is narrowed).</summary>
    public static WorkloadGrant GrantOf(McpExchange exchange) => exchange.Bearer ? exchange.Grant.ForBearer() : exchange.Grant;

    /// <summary>
    /// The call the message makes, as the policy sees it: rules on annotations match what the operator attested (the
    /// lock's view), never what the server reported.
    /// </summary>
    public static McpCall CallOf(McpExchange exchange, WorkloadGrant grant, McpMessage message)
    {
        var attested = message.Name is { } name && grant.MatchesAnnotations ? exchange.ToolLock?.AttestedOf(name) : null;
        return message.ToCall(attested);
    }

    /// <summary>The budgets an allowed tool call is charged to (issue 12 §4); empty for anything else.</summary>
    public static IReadOnlyList<BudgetCharge> ChargesOf(McpExchange exchange)
    {
        var grant = GrantOf(exchange);
        return grant.HasLimits && exchange.Message is { Kind: McpMessageKind.Request } message
            ? PolicyEvaluator.ChargesOf(grant, exchange.Workload!.ToString(), exchange.ServerName, CallOf(exchange, grant, message))
            : [];
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
