using Fabric.Contracts.Policy;
using Fabric.Edge.Mcp;
using Fabric.Edge.Pipeline;
using Fabric.Edge.Policy;
using Microsoft.AspNetCore.Http;

namespace Fabric.Edge.Tests.Policy;

/// <summary>The edge's one decision point, on a bare exchange: the server gate, the method table per generation, the rules.</summary>
public sealed class EdgePolicyTests
{
    private static WorkloadGrant Grant(params PolicyRule[] rules) => new(3, true, [.. rules.Select((r, i) => new GrantedRule("p", i, r))]);

    private static McpExchange Exchange(WorkloadGrant grant, McpMessage? message, McpGeneration generation, string httpMethod = "POST")
    {
        var context = new DefaultHttpContext();
        context.Request.Method = httpMethod;
        var exchange = new McpExchange(context, "files", TimeProvider.System) { Grant = grant, Message = message, Generation = generation };
        if (message is null)
        {
            exchange.Method = httpMethod == "GET" ? McpMethods.EventStreamMethod : McpMethods.SessionEndMethod;
        }
        return exchange;
    }

    private static McpMessage Request(string method, string? name = null) => new(McpMessageKind.Request, "1", method, name, null, null);

    private static McpMessage Notification(string method) => new(McpMessageKind.Notification, null, method, null, null, null);

    private static readonly PolicyRule AllowEcho = new("files", PolicyEffect.Allow, Tools: ["echo"]);

    [Fact]
    public void A_workload_with_no_allow_on_the_server_is_refused_at_the_server_level()
    {
        var (decision, serverLevel) = EdgePolicy.Decide(Exchange(Grant(new PolicyRule("files", PolicyEffect.Deny)), Request("ping"), McpGeneration.Session));
        Assert.Equal((ReasonCodes.NoMatchingAllow, true), (decision.Reason, serverLevel));
        Assert.Equal(ReasonCodes.WorkloadDisabled, EdgePolicy.Decide(Exchange(WorkloadGrant.None, Request("ping"), McpGeneration.Session)).Decision.Reason);
    }

    public static TheoryData<string, string, McpGeneration, string> TableRows => new()
    {
        { "request", "initialize", McpGeneration.Session, ReasonCodes.Allowed },
        { "request", "initialize", McpGeneration.Stateless, ReasonCodes.UnknownMethod },
        { "request", "server/discover", McpGeneration.Session, ReasonCodes.UnknownMethod },
        { "request", "server/discover", McpGeneration.Stateless, ReasonCodes.Allowed },
        { "notification", "notifications/initialized", McpGeneration.Session, ReasonCodes.Allowed },
        { "notification", "notifications/initialized", McpGeneration.Stateless, ReasonCodes.UnknownMethod },
        { "notification", "tools/call", McpGeneration.Session, ReasonCodes.UnknownMethod },         // a request's name as a notification
        { "request", "notifications/cancelled", McpGeneration.Session, ReasonCodes.UnknownMethod }, // and the other way round
        { "request", "tools/call", McpGeneration.Stateless, ReasonCodes.Allowed },
        { "request-rm", "tools/call", McpGeneration.Stateless, ReasonCodes.NoMatchingAllow },
        { "request", "Tools/Call", McpGeneration.Stateless, ReasonCodes.UnknownMethod },
        { "request", "x/custom", McpGeneration.Session, ReasonCodes.UnknownMethod },
        { "response", "", McpGeneration.Session, ReasonCodes.Allowed },
        { "response", "", McpGeneration.Stateless, ReasonCodes.UnknownMethod },
    };

    [Theory]
    [MemberData(nameof(TableRows))]
    public void Each_generation_has_its_own_method_table(string kind, string method, McpGeneration generation, string reason)
    {
        var message = kind switch
        {
            "request" => Request(method, method == "tools/call" ? "echo" : null),
            "request-rm" => Request(method, "rm"),
            "notification" => Notification(method),
            _ => new McpMessage(McpMessageKind.Response, "9", null, null, null, null),
        };
        var (decision, serverLevel) = EdgePolicy.Decide(Exchange(Grant(AllowEcho), message, generation));
        Assert.Equal(reason, decision.Reason);
        Assert.False(serverLevel);
    }

    [Fact]
    public void Get_and_delete_pass_the_same_gate_as_protocol_methods()
    {
        var grant = Grant(AllowEcho, new PolicyRule("files", PolicyEffect.Deny));
        Assert.Equal(ReasonCodes.ExplicitDeny, EdgePolicy.Decide(Exchange(grant, null, McpGeneration.Session, "GET")).Decision.Reason);
        Assert.Equal(ReasonCodes.ExplicitDeny, EdgePolicy.Decide(Exchange(grant, null, McpGeneration.Session, "DELETE")).Decision.Reason);
        Assert.True(EdgePolicy.Decide(Exchange(Grant(AllowEcho), null, McpGeneration.Session, "GET")).Decision.Allowed);
    }
}
