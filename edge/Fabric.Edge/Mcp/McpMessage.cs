using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using Fabric.Contracts.Policy;

namespace Fabric.Edge.Mcp;

/// <summary>The three JSON-RPC 2.0 message shapes MCP allows on the wire (MCP spec, "Base Protocol: Messages").</summary>
internal enum McpMessageKind
{
    /// <summary><c>method</c> and <c>id</c>: expects a response.</summary>
    Request,
    /// <summary><c>method</c>, no <c>id</c>: fire and forget (the edge answers 202 or forwards).</summary>
    Notification,
    /// <summary>No <c>method</c>, <c>result</c> or <c>error</c>: a client's answer to a server request (2025-x sessions only).</summary>
    Response,
}

/// <summary>
/// What the edge read from one JSON-RPC message: just enough to decide, echo the id and audit.
/// Everything is copied out of the request buffer, so a message outlives its <see cref="McpReadResult"/>.
/// </summary>
internal sealed class McpMessage
{
    /// <summary>
    /// The method <see cref="ToCall"/> reports for a <see cref="McpMessageKind.Response"/>, which has none.
    /// <see cref="McpMethods.Classify"/> puts it with the protocol methods, as it must: a response answers a
    /// server-initiated request (sampling, elicitation, roots) and names no tool, resource or prompt.
    /// </summary>
    public const string ResponseMethod = McpMethods.ResponseMethod;

    public McpMessage(
        McpMessageKind kind,
        string? rawId,
        string? method,
        string? name,
        IReadOnlyDictionary<string, string>? arguments,
        string? metaProtocolVersion)
    {
        Kind = kind;
        RawId = rawId;
        Method = method;
        Name = name;
        Arguments = arguments;
        MetaProtocolVersion = metaProtocolVersion;
    }

    public McpMessageKind Kind { get; }

    /// <summary>
    /// The <c>id</c> exactly as it appeared in the body (<c>"abc"</c> with its quotes and escapes, or
    /// <c>42</c>), so an error the edge writes echoes the very token the client sent (JSON-RPC 2.0 §5:
    /// the response id "MUST be the same as the value of the id member in the Request Object").
    /// Null for notifications and for an error response whose id was null.
    /// </summary>
    public string? RawId { get; }

    /// <summary>The JSON-RPC method; null only for <see cref="McpMessageKind.Response"/>.</summary>
    public string? Method { get; }

    /// <summary>
    /// What the decision is about: <c>params.name</c> for <c>tools/call</c> and <c>prompts/get</c>,
    /// <c>params.uri</c> for <c>resources/read|subscribe|unsubscribe</c>; null for every other method.
    /// </summary>
    public string? Name { get; }

    /// <summary>
    /// Top-level <c>params.arguments</c> of <c>tools/call</c> / <c>prompts/get</c>, rendered as strings; null when
    /// absent, or when the reader was told nothing would read them (validated, not copied).
    /// </summary>
    public IReadOnlyDictionary<string, string>? Arguments { get; }

    /// <summary>
    /// <c>params._meta["io.modelcontextprotocol/protocolVersion"]</c> when the body carries it (2026-07-28
    /// and later put the version on every request; the <c>MCP-Protocol-Version</c> header must match it).
    /// </summary>
    public string? MetaProtocolVersion { get; }

    public bool IsRequestOrNotification => Kind is McpMessageKind.Request or McpMessageKind.Notification;

    /// <summary>The message as the policy evaluator sees it.</summary>
    /// <param name="attested">What the operator attested about the named tool's annotations (from the server's tool lock).</param>
    public McpCall ToCall(ToolAnnotations? attested = null) => new(Method ?? ResponseMethod, Name, Arguments, attested);
}

/// <summary>How reading a request body ended.</summary>
internal enum McpReadStatus
{
    Ok,
    /// <summary>Content-Length or the streamed size exceeded the limit: the edge answers 413.</summary>
    TooLarge,
    /// <summary>A JSON array (batching, removed in MCP 2025-06-18): a -32600 error.</summary>
    Batch,
    /// <summary>Not valid JSON (-32700), not a valid message (-32600), or bad params (-32602).</summary>
    Invalid,
}

/// <summary>
/// A read body and what it says. Owns the pooled buffer behind <see cref="Body"/> (the bytes the edge
/// forwards upstream); dispose once the body is no longer needed.
/// </summary>
internal sealed class McpReadResult : IDisposable
{
    private byte[]? _buffer;
    private readonly int _length;

    internal McpReadResult(byte[]? buffer, int length, McpMessageReader.ParseOutcome outcome)
    {
        _buffer = buffer;
        _length = length;
        Status = outcome.Status;
        Message = outcome.Message;
        ErrorCode = outcome.ErrorCode;
        ErrorMessage = outcome.ErrorMessage;
        RawId = outcome.RawId;
    }

    public McpReadStatus Status { get; }

    /// <summary>The message, when <see cref="IsOk"/>.</summary>
    public McpMessage? Message { get; }

    /// <summary>The JSON-RPC error code to answer with (0 when <see cref="IsOk"/>).</summary>
    public int ErrorCode { get; }

    public string? ErrorMessage { get; }

    /// <summary>The raw id to echo in an error reply, when one could be read; null otherwise.</summary>
    public string? RawId { get; }

    [MemberNotNullWhen(true, nameof(Message))]
    public bool IsOk => Status == McpReadStatus.Ok;

    /// <summary>The body bytes as received; empty once disposed or when the body was too large.</summary>
    public ReadOnlyMemory<byte> Body => _buffer is { } buffer ? buffer.AsMemory(0, _length) : ReadOnlyMemory<byte>.Empty;

    internal static McpReadResult TooLarge() => new(null, 0, McpMessageReader.ParseOutcome.Fail(
        McpReadStatus.TooLarge, JsonRpcErrors.InvalidRequest, "request body too large", rawId: null));

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _buffer, null) is { } buffer)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
