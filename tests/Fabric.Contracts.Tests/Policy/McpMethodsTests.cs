using Fabric.Contracts.Policy;

namespace Fabric.Contracts.Tests.Policy;

public class McpMethodsTests
{
    [Theory]
    [InlineData("tools/call", McpCallKind.Tool)]
    [InlineData("resources/read", McpCallKind.Resource)]
    [InlineData("resources/subscribe", McpCallKind.Resource)]
    [InlineData("resources/unsubscribe", McpCallKind.Resource)]
    [InlineData("prompts/get", McpCallKind.Prompt)]
    [InlineData("initialize", McpCallKind.Protocol)]
    [InlineData("server/discover", McpCallKind.Protocol)]
    [InlineData("ping", McpCallKind.Protocol)]
    [InlineData("notifications/initialized", McpCallKind.Protocol)]
    [InlineData("notifications/cancelled", McpCallKind.Protocol)]
    [InlineData("tools/list", McpCallKind.Protocol)]
    [InlineData("resources/list", McpCallKind.Protocol)]
    [InlineData("resources/templates/list", McpCallKind.Protocol)]
    [InlineData("prompts/list", McpCallKind.Protocol)]
    [InlineData("completion/complete", McpCallKind.Protocol)]
    [InlineData("logging/setLevel", McpCallKind.Protocol)]
    [InlineData("something/new", McpCallKind.Extension)]
    [InlineData("Tools/Call", McpCallKind.Extension)]            // JSON-RPC method names are case-sensitive
    public void Classifies(string method, McpCallKind expected) => Assert.Equal(expected, McpMethods.Classify(method));

    [Theory]
    [InlineData("tools/list", McpCallKind.Tool, "tools", "name")]
    [InlineData("resources/list", McpCallKind.Resource, "resources", "uri")]
    [InlineData("resources/templates/list", McpCallKind.Resource, "resourceTemplates", "uriTemplate")]
    [InlineData("prompts/list", McpCallKind.Prompt, "prompts", "name")]
    public void Maps_list_methods_to_filters(string method, McpCallKind kind, string result, string name) =>
        Assert.Equal(new McpListFilter(kind, result, name), McpMethods.ListFilterFor(method));

    [Theory]
    [InlineData("tools/call")]
    [InlineData("initialize")]
    [InlineData("completion/complete")]
    public void Has_no_filter_for_other_methods(string method) => Assert.Null(McpMethods.ListFilterFor(method));
}
