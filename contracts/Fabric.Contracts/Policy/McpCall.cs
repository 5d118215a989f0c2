namespace Fabric.Contracts.Policy;

/// <summary>
/// What the edge read from one JSON-RPC message: the method, the tool / resource / prompt it names
/// (if any) and, for <c>tools/call</c>, the top-level arguments rendered as strings (strings as
/// they are, other JSON values as their raw JSON text). <see cref="Attested"/> is what the operator attested about the
/// named tool in its server's tool lock (never what the server reports), for rules on annotations.
/// </summary>
[GenerateSerializer, Immutable, Alias("fabric.mcp-call")]
public sealed record McpCall(
    [property: Id(0)] string Method,
    [property: Id(1)] string? Name = null,
    [property: Id(2)] IReadOnlyDictionary<string, string>? Arguments = null,
    [property: Id(3)] ToolAnnotations? Attested = null);
