using System.Buffers;
using System.Text;
using System.Text.Unicode;
using System.Text.Json;
using Fabric.Contracts.Policy;

namespace Fabric.Edge.Mcp;

/// <summary>
/// Reads one JSON-RPC message from a request body, bounded, and extracts what a decision needs.
/// <code>
///   body ──(≤ maxBytes, ArrayPool)──► buffer ──Utf8JsonReader──► kind · id · method · name · arguments
///                                        └── owned by McpReadResult (forwarded upstream as-is, then returned)
/// </code>
/// One pass over the top-level object; <c>params</c> is located, skipped, and re-read once the method is
/// known (members may come in any order). Nothing but the extracted values is copied out of the buffer.
/// </summary>
internal static partial class McpMessageReader
{
    /// <summary>Most top-level arguments the edge renders for a decision; more is an invalid-params error.</summary>
    public const int MaxArguments = 256;

    private const int InitialBufferSize = 4096;

    // RFC 8259 JSON only: no comments, no trailing commas (what the upstream's parser accepts may differ,
    // and the edge must not see a different message than the server does).
    private static readonly JsonReaderOptions ReaderOptions = new()
    {
        CommentHandling = JsonCommentHandling.Disallow,
        AllowTrailingCommas = false,
        MaxDepth = 64,
    };

    /// <param name="renderArguments">
    /// False when nothing will read <see cref="McpMessage.Arguments"/> (the grant has no argument constraint):
    /// arguments are still validated (an object, at most <see cref="MaxArguments"/>, no duplicate keys, strings
    /// that decode) but their values are not copied out, and <see cref="McpMessage.Arguments"/> is null.
    /// </param>
    public static async ValueTask<McpReadResult> ReadAsync(Stream body, long? contentLength, int maxBytes, CancellationToken ct, bool renderArguments = true)
    {
        ArgumentNullException.ThrowIfNull(body);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxBytes);

        // A declared length over the limit is refused before a byte is read (the edge answers 413).
        if (contentLength > maxBytes)
        {
            return McpReadResult.TooLarge();
        }

        // Read at most maxBytes + 1: the extra byte is how a body without Content-Length (chunked, HTTP/2)
        // proves itself too large without the edge buffering all of it.
        var limit = (int)Math.Min((long)maxBytes + 1, Array.MaxLength);
        var initial = contentLength is long declared ? (int)Math.Min(declared + 1, limit) : Math.Min(InitialBufferSize, limit);
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Max(initial, 1));
        var total = 0;
        try
        {
            while (true)
            {
                var room = Math.Min(buffer.Length, limit) - total;
                if (room == 0)
                {
                    if (total >= limit)
                    {
                        ArrayPool<byte>.Shared.Return(buffer);
                        return McpReadResult.TooLarge();
                    }

                    var bigger = ArrayPool<byte>.Shared.Rent((int)Math.Min((long)buffer.Length * 2, limit));
                    buffer.AsSpan(0, total).CopyTo(bigger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = bigger;
                    continue;
                }

                var read = await body.ReadAsync(buffer.AsMemory(total, room), ct);
                if (read == 0)
                {
                    break;
                }

                total += read;
                if (total > maxBytes)
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                    return McpReadResult.TooLarge();
                }
            }
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }

        var outcome = Parse(buffer.AsSpan(0, total), renderArguments);
        return new McpReadResult(buffer, total, outcome);
    }

    /// <summary>Parses one message; never throws for bad input.</summary>
    internal static ParseOutcome Parse(ReadOnlySpan<byte> json, bool renderArguments = true)
    {
        try
        {
            return ParseCore(json, renderArguments);
        }
        catch (JsonException)
        {
            // JSON-RPC 2.0 §5.1: "Invalid JSON was received by the server" → -32700, id null.
            return ParseOutcome.Fail(McpReadStatus.Invalid, JsonRpcErrors.ParseError, "parse error: body is not valid JSON", rawId: null);
        }
        catch (InvalidOperationException)
        {
            // A string that is valid JSON grammar yet does not decode (a lone surrogate escape, "\uD800"): no name
            // the edge could decide on, and parsers differ on what they make of it.
            return ParseOutcome.Fail(McpReadStatus.Invalid, JsonRpcErrors.ParseError, "parse error: a string does not decode to Unicode text", rawId: null);
        }
    }

    private static ParseOutcome ParseCore(ReadOnlySpan<byte> json, bool renderArguments)
    {
        // RFC 8259 §8.1: JSON text exchanged between systems MUST be UTF-8. Utf8JsonReader checks structure, not the
        // bytes inside strings; a name the edge could not decode must never be one the server decodes differently.
        if (!Utf8.IsValid(json))
        {
            return ParseOutcome.Fail(McpReadStatus.Invalid, JsonRpcErrors.ParseError, "parse error: body is not valid UTF-8", rawId: null);
        }

        var reader = new Utf8JsonReader(json, ReaderOptions);
        if (!reader.Read())
        {
            return ParseOutcome.Fail(McpReadStatus.Invalid, JsonRpcErrors.ParseError, "parse error: empty body", rawId: null);
        }

        if (reader.TokenType == JsonTokenType.StartArray)
        {
            // MCP 2025-06-18 changelog: "Remove support for JSON-RPC batching"; 2026-07-28 Streamable HTTP
            // "Sending Messages" 4: the body MUST be a single request or notification.
            reader.Skip();
            EnsureEnd(ref reader);
            return ParseOutcome.Fail(McpReadStatus.Batch, JsonRpcErrors.InvalidRequest,
                "invalid request: JSON-RPC batches are not supported (removed in MCP 2025-06-18)", rawId: null);
        }

        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            EnsureEnd(ref reader);
            return ParseOutcome.Fail(McpReadStatus.Invalid, JsonRpcErrors.InvalidRequest, "invalid request: not a JSON-RPC object", rawId: null);
        }

        var top = default(TopLevel);
        string? duplicate = null;
        HashSet<string>? others = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var member = TopLevelMember(ref reader);
            if (member != Member.Other && (top.Seen & member) != 0)
            {
                duplicate ??= reader.GetString();
            }
            else if (member == Member.Other && !(others ??= new(StringComparer.Ordinal)).Add(reader.GetString()!))
            {
                // Unknown members too: a parser that knows them must not see a choice the edge did not.
                duplicate ??= reader.GetString();
            }

            top.Seen |= member;
            reader.Read();
            switch (member)
            {
                case Member.JsonRpc:
                    top.JsonRpcOk = reader.TokenType == JsonTokenType.String && reader.ValueTextEquals("2.0"u8);
                    break;
                case Member.Id:
                    top.IdType = reader.TokenType;
                    if (reader.TokenType is JsonTokenType.String or JsonTokenType.Number)
                    {
                        // Raw token text: a string keeps its quotes and escapes, a number its exact digits.
                        var start = (int)reader.TokenStartIndex;
                        var length = reader.ValueSpan.Length + (reader.TokenType == JsonTokenType.String ? 2 : 0);
                        top.RawId = Encoding.UTF8.GetString(json.Slice(start, length));
                    }

                    break;
                case Member.Method:
                    top.Method = reader.TokenType == JsonTokenType.String ? KnownMethod(ref reader) : null;
                    top.MethodInvalid = reader.TokenType != JsonTokenType.String;
                    break;
                case Member.Params:
                    top.ParamsType = reader.TokenType;
                    top.ParamsStart = (int)reader.TokenStartIndex;
                    break;
                default:
                    break;
            }

            reader.Skip();
            if (member == Member.Params)
            {
                top.ParamsEnd = (int)reader.BytesConsumed;
            }
        }

        EnsureEnd(ref reader);

        var rawId = top.IdType is JsonTokenType.String or JsonTokenType.Number ? top.RawId : null;
        if (duplicate is not null)
        {
            // RFC 8259 §4: with duplicate names "the behavior of software that receives such an object is
            // unpredictable" — the edge could decide on one copy while the server executes the other.
            return ParseOutcome.Fail(McpReadStatus.Invalid, JsonRpcErrors.InvalidRequest, $"invalid request: duplicate member '{duplicate}'", rawId);
        }

        if (!top.JsonRpcOk)
        {
            return ParseOutcome.Fail(McpReadStatus.Invalid, JsonRpcErrors.InvalidRequest, "invalid request: jsonrpc must be \"2.0\"", rawId);
        }

        var hasId = (top.Seen & Member.Id) != 0;
        var hasResult = (top.Seen & Member.Result) != 0;
        var hasError = (top.Seen & Member.Error) != 0;
        if (hasId && top.IdType is not (JsonTokenType.String or JsonTokenType.Number or JsonTokenType.Null))
        {
            return ParseOutcome.Fail(McpReadStatus.Invalid, JsonRpcErrors.InvalidRequest, "invalid request: id must be a string or a number", rawId: null);
        }

        if ((top.Seen & Member.Method) == 0)
        {
            // A response: exactly one of result / error (JSON-RPC 2.0 §5). A result answers a known request,
            // so its id is a string or number; an error's id may be null.
            if (hasResult == hasError || (hasResult && rawId is null) || (top.Seen & Member.Params) != 0)
            {
                // A response carries no params: one that does is a request in disguise for whichever parser reads it so.
                return ParseOutcome.Fail(McpReadStatus.Invalid, JsonRpcErrors.InvalidRequest, "invalid request: neither a request, a notification nor a response", rawId);
            }

            return ParseOutcome.Ok(new McpMessage(McpMessageKind.Response, rawId, method: null, name: null, arguments: null, metaProtocolVersion: null));
        }

        if (top.MethodInvalid || top.Method is null || hasResult || hasError)
        {
            return ParseOutcome.Fail(McpReadStatus.Invalid, JsonRpcErrors.InvalidRequest, "invalid request: method must be a string, without result or error", rawId);
        }

        if (hasId && rawId is null)
        {
            // MCP "Base Protocol: Requests": "Unlike base JSON-RPC, the ID MUST NOT be null."
            return ParseOutcome.Fail(McpReadStatus.Invalid, JsonRpcErrors.InvalidRequest, "invalid request: id must not be null", rawId: null);
        }

        var kind = hasId ? McpMessageKind.Request : McpMessageKind.Notification;
        return ParseParams(json, top, kind, rawId, renderArguments);
    }

    private static ParseOutcome ParseParams(ReadOnlySpan<byte> json, TopLevel top, McpMessageKind kind, string? rawId, bool renderArguments)
    {
        var method = top.Method!;
        var callKind = McpMethods.Classify(method);
        var named = callKind is McpCallKind.Tool or McpCallKind.Resource or McpCallKind.Prompt;
        string? name = null;
        string? metaVersion = null;
        IReadOnlyDictionary<string, string>? arguments = null;
        var nameSeen = false;

        if (top.ParamsType == JsonTokenType.StartObject)
        {
            var reader = new Utf8JsonReader(json[top.ParamsStart..top.ParamsEnd], ReaderOptions);
            reader.Read();
            var seen = ParamsMember.None;
            HashSet<string>? others = null;
            var nameProperty = callKind == McpCallKind.Resource ? ParamsMember.Uri : ParamsMember.Name;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var member = reader.ValueTextEquals("name"u8) ? ParamsMember.Name
                    : reader.ValueTextEquals("uri"u8) ? ParamsMember.Uri
                    : reader.ValueTextEquals("arguments"u8) ? ParamsMember.Arguments
                    : reader.ValueTextEquals("_meta"u8) ? ParamsMember.Meta
                    : ParamsMember.None;
                if ((member != ParamsMember.None && (seen & member) != 0)
                    || (member == ParamsMember.None && !(others ??= new(StringComparer.Ordinal)).Add(reader.GetString()!)))
                {
                    return ParseOutcome.Fail(McpReadStatus.Invalid, JsonRpcErrors.InvalidParams,
                        $"invalid params: duplicate member '{reader.GetString()}'", rawId);
                }

                seen |= member;
                reader.Read();
                if (member == nameProperty && named)
                {
                    nameSeen = true;
                    name = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                }
                else if (member == ParamsMember.Arguments && callKind is McpCallKind.Tool or McpCallKind.Prompt
                    && reader.TokenType != JsonTokenType.Null)
                {
                    if (reader.TokenType != JsonTokenType.StartObject)
                    {
                        return ParseOutcome.Fail(McpReadStatus.Invalid, JsonRpcErrors.InvalidParams, "invalid params: arguments must be an object", rawId);
                    }

                    var failure = ReadArguments(ref reader, json[top.ParamsStart..top.ParamsEnd], renderArguments, out var rendered);
                    if (failure is not null)
                    {
                        return ParseOutcome.Fail(McpReadStatus.Invalid, JsonRpcErrors.InvalidParams, failure, rawId);
                    }

                    arguments = rendered;
                    continue;
                }
                else if (member == ParamsMember.Meta && reader.TokenType == JsonTokenType.StartObject)
                {
                    metaVersion = ReadMetaVersion(ref reader);
                    continue;
                }

                reader.Skip();
            }
        }

        if (named && name is null)
        {
            // MCP schema: CallToolRequest / GetPromptRequest params.name and ReadResourceRequest (and
            // Subscribe/Unsubscribe) params.uri are required strings; without one there is nothing to decide on.
            var what = callKind == McpCallKind.Resource ? "uri" : "name";
            var problem = nameSeen ? "must be a string" : "is required";
            return ParseOutcome.Fail(McpReadStatus.Invalid, JsonRpcErrors.InvalidParams, $"invalid params: {method} params.{what} {problem}", rawId);
        }

        return ParseOutcome.Ok(new McpMessage(kind, rawId, method, name, arguments, metaVersion));
    }

    private static string? ReadMetaVersion(ref Utf8JsonReader reader)
    {
        string? version = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var isVersion = reader.ValueTextEquals("io.modelcontextprotocol/protocolVersion"u8);
            reader.Read();
            if (isVersion && reader.TokenType == JsonTokenType.String)
            {
                version = reader.GetString();
            }

            reader.Skip();
        }

        return version;
    }

    private static void EnsureEnd(ref Utf8JsonReader reader)
    {
        // Past the root value only whitespace may follow; Utf8JsonReader throws on anything else.
        if (reader.Read())
        {
            throw new JsonException("trailing content after the JSON-RPC message");
        }
    }

    /// <summary>The method names the edge sees on every call, without allocating a string for them.</summary>
    private static string KnownMethod(ref Utf8JsonReader reader) =>
        reader.ValueTextEquals("tools/call"u8) ? McpMethods.ToolsCall
        : reader.ValueTextEquals("tools/list"u8) ? McpMethods.ToolsList
        : reader.ValueTextEquals("resources/read"u8) ? McpMethods.ResourcesRead
        : reader.ValueTextEquals("resources/list"u8) ? McpMethods.ResourcesList
        : reader.ValueTextEquals("resources/templates/list"u8) ? McpMethods.ResourceTemplatesList
        : reader.ValueTextEquals("prompts/get"u8) ? McpMethods.PromptsGet
        : reader.ValueTextEquals("prompts/list"u8) ? McpMethods.PromptsList
        : reader.ValueTextEquals("server/discover"u8) ? "server/discover"
        : reader.ValueTextEquals("initialize"u8) ? "initialize"
        : reader.ValueTextEquals("notifications/initialized"u8) ? "notifications/initialized"
        : reader.ValueTextEquals("ping"u8) ? "ping"
        : reader.GetString()!;

    private static Member TopLevelMember(ref Utf8JsonReader reader) =>
        reader.ValueTextEquals("jsonrpc"u8) ? Member.JsonRpc
        : reader.ValueTextEquals("id"u8) ? Member.Id
        : reader.ValueTextEquals("method"u8) ? Member.Method
        : reader.ValueTextEquals("params"u8) ? Member.Params
        : reader.ValueTextEquals("result"u8) ? Member.Result
        : reader.ValueTextEquals("error"u8) ? Member.Error
        : Member.Other;

    [Flags]
    private enum Member
    {
        Other = 0,
        JsonRpc = 1,
        Id = 2,
        Method = 4,
        Params = 8,
        Result = 16,
        Error = 32,
    }

    [Flags]
    private enum ParamsMember
    {
        None = 0,
        Name = 1,
        Uri = 2,
        Arguments = 4,
        Meta = 8,
    }

    private struct TopLevel
    {
        public Member Seen;
        public bool JsonRpcOk;
        public JsonTokenType IdType;
        public string? RawId;
        public string? Method;
        public bool MethodInvalid;
        public JsonTokenType ParamsType;
        public int ParamsStart;
        public int ParamsEnd;
    }

    internal readonly record struct ParseOutcome(McpReadStatus Status, McpMessage? Message, int ErrorCode, string? ErrorMessage, string? RawId)
    {
        public static ParseOutcome Ok(McpMessage message) => new(McpReadStatus.Ok, message, 0, null, message.RawId);

        public static ParseOutcome Fail(McpReadStatus status, int code, string message, string? rawId) => new(status, null, code, message, rawId);
    }
}
