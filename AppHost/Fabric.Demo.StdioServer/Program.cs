using Fabric.Demo.StdioServer;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

// A local MCP server on the stdio transport, launched by the edge (issue 11 §4). It holds no secret: the edge starts
// it with a scrubbed environment and an egress proxy, and splices the API key into its outbound calls.
var options = new McpServerOptions
{
    ServerInfo = new Implementation { Name = "fabric-demo-stdio", Version = "1.0.0" },
    ToolCollection = StdioTools.Create(),
};
await using var server = McpServer.Create(new StdioServerTransport("fabric-demo-stdio"), options);
await server.RunAsync();
