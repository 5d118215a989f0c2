using System.Buffers;
using System.Text.Json;
using Fabric.Contracts.Policy;

namespace Fabric.Edge.Mcp;

/// <summary>
/// The edge's JSON-RPC error bodies:
/// <code>
/// {"jsonrpc":"2.0","id":&lt;raw id | null&gt;,"error":{"code":-32003,"message":"forbidden: no-matching-allow",
///   "data":{"reason":"no-matching-allow","policy":"p","rule":0}}}
/// (a <c>rate-limited</c> denial adds <c>"retryAfterMs"</c>, an <c>approval-required</c> one <c>"approvalId"</c>)
/// </code>
/// Written with <see cref="Utf8JsonWriter"/> straight into the output; the id is the raw token the
/// client sent (<see cref="McpMessage.RawId"/>), so <c>"7"</c> stays a string and <c>7</c> a number.
/// </summary>
internal static class JsonRpcErrors
{
    // JSON-RPC 2.0 §5.1 pre-defined codes.
    public const int ParseError = -32700;
    public const int InvalidRequest = -32600;
    public const int MethodNotFound = -32601;
    public const int InvalidParams = -32602;
    public const int InternalError = -32603;

    // -32000..-32019 is implementation-defined (MCP 2026-07-28 schema.ts, "MCP error codes": the spec
    // will never allocate there). The edge's own codes live in that band.
    /// <summary>Generic transport-level failure (what the SDK server uses for 4xx bodies).</summary>
    public const int ServerError = -32000;
    /// <summary>A policy denial; <c>data.reason</c> carries the stable reason code.</summary>
    public const int Forbidden = -32003;
    /// <summary>The upstream could not be reached, or failed at the transport level.</summary>
    public const int UpstreamUnavailable = -32004;

    // -32020..-32099 is reserved for codes the MCP specification defines (2026-07-28 schema.ts).
    /// <summary><c>HeaderMismatch</c>: a mirrored header (<c>Mcp-Method</c>, <c>Mcp-Name</c>, <c>MCP-Protocol-Version</c>) is missing or disagrees with the body; HTTP 400.</summary>
    public const int HeaderMismatch = -32020;
    /// <summary><c>MissingRequiredClientCapability</c> (2026-07-28); HTTP 400.</summary>
    public const int MissingRequiredClientCapability = -32021;
    /// <summary><c>UnsupportedProtocolVersion</c> (2026-07-28); HTTP 400.</summary>
    public const int UnsupportedProtocolVersion = -32022;

    public const string ContentType = "application/json";

    /// <summary>Writes a policy denial: code <see cref="Forbidden"/>, message <c>forbidden: &lt;reason&gt;</c>.</summary>
    public static void WriteDenial(IBufferWriter<byte> output, string? rawId, Decision decision)
    {
        ArgumentNullException.ThrowIfNull(decision);
        using var writer = new Utf8JsonWriter(output);
        WriteDenial(writer, rawId, decision);
    }

    public static void WriteDenial(Stream output, string? rawId, Decision decision)
    {
        ArgumentNullException.ThrowIfNull(decision);
        using var writer = new Utf8JsonWriter(output);
        WriteDenial(writer, rawId, decision);
    }

    /// <summary>Writes <c>{"jsonrpc":"2.0","id":…,"error":{"code":…,"message":…[,"data":{"reason":…}]}}</c>.</summary>
    public static void WriteError(IBufferWriter<byte> output, string? rawId, int code, string message, string? reasonCode = null)
    {
        using var writer = new Utf8JsonWriter(output);
        WriteError(writer, rawId, code, message, reasonCode, policy: null, rule: null);
    }

    public static void WriteError(Stream output, string? rawId, int code, string message, string? reasonCode = null)
    {
        using var writer = new Utf8JsonWriter(output);
        WriteError(writer, rawId, code, message, reasonCode, policy: null, rule: null);
    }

    /// <summary>Answers <paramref name="response"/> with a JSON-RPC error and the given HTTP status.</summary>
    public static Task WriteAsync(
        HttpResponse response, int statusCode, string? rawId, int code, string message, string? reasonCode = null,
        CancellationToken cancellationToken = default)
    {
        var body = new ArrayBufferWriter<byte>(256);
        WriteError(body, rawId, code, message, reasonCode);
        return SendAsync(response, statusCode, body, cancellationToken);
    }

    /// <summary>Answers <paramref name="response"/> with a policy denial and the given HTTP status.</summary>
    public static Task WriteDenialAsync(
        HttpResponse response, int statusCode, string? rawId, Decision decision, CancellationToken cancellationToken = default)
    {
        var body = new ArrayBufferWriter<byte>(256);
        WriteDenial(body, rawId, decision);
        return SendAsync(response, statusCode, body, cancellationToken);
    }

    private static void WriteDenial(Utf8JsonWriter writer, string? rawId, Decision decision) =>
        WriteError(writer, rawId, Forbidden, "forbidden: " + decision.Reason, decision.Reason, decision.Policy, decision.Rule, decision);

    private static void WriteError(
        Utf8JsonWriter writer, string? rawId, int code, string message, string? reasonCode, string? policy, int? rule, Decision? decision = null)
    {
        ArgumentNullException.ThrowIfNull(message);
        writer.WriteStartObject();
        writer.WriteString("jsonrpc"u8, "2.0"u8);
        if (rawId is null)
        {
            // JSON-RPC 2.0 §5: "If there was an error in detecting the id … it MUST be Null."
            writer.WriteNull("id"u8);
        }
        else
        {
            writer.WritePropertyName("id"u8);
            // Validated: a raw id always came out of a parsed body, but a bad one must not corrupt the reply.
            writer.WriteRawValue(rawId);
        }

        writer.WriteStartObject("error"u8);
        writer.WriteNumber("code"u8, code);
        writer.WriteString("message"u8, message);
        if (reasonCode is not null)
        {
            writer.WriteStartObject("data"u8);
            writer.WriteString("reason"u8, reasonCode);
            if (policy is not null)
            {
                writer.WriteString("policy"u8, policy);
            }

            if (rule is int r)
            {
                writer.WriteNumber("rule"u8, r);
            }

            if (decision?.RetryAfterMs is long retryAfterMs)
            {
                writer.WriteNumber("retryAfterMs"u8, retryAfterMs);
            }

            if (decision?.ApprovalId is { } approvalId)
            {
                writer.WriteString("approvalId"u8, approvalId);
            }

            writer.WriteEndObject();
        }

        writer.WriteEndObject();
        writer.WriteEndObject();
        writer.Flush();
    }

    private static async Task SendAsync(HttpResponse response, int statusCode, ArrayBufferWriter<byte> body, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(response);
        // Measured before the first byte goes out so the reply carries Content-Length (no chunking for a
        // few hundred bytes) and the status/headers are still writable.
        response.StatusCode = statusCode;
        response.ContentType = ContentType;
        response.ContentLength = body.WrittenCount;
        await response.Body.WriteAsync(body.WrittenMemory, cancellationToken);
    }
}
