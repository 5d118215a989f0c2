using Fabric.Contracts.Policy;
using Fabric.Edge.Hosting;
using Fabric.Edge.Pipeline;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace Fabric.Edge.Mcp;

/// <summary>
/// Step 4: what the transport allows and what the message says. The HTTP method (POST, GET, DELETE: Streamable
/// HTTP), a POST body that is <c>application/json</c> without a <c>Content-Encoding</c> (the edge reads the bytes it
/// decides on, and forwards exactly those), then one bounded JSON-RPC message whose <c>Mcp-*</c> headers agree with
/// it. Every refusal here comes before any decision and is audited as one.
/// </summary>
internal sealed class McpRequestReader(IOptions<EdgeOptions> options)
{
    /// <summary>Checks the request line and headers; sets the audit method of GET and DELETE.</summary>
    public static async ValueTask<bool> CheckTransportAsync(McpExchange exchange)
    {
        var request = exchange.Context.Request;
        switch (request.Method)
        {
            case "GET":
                exchange.Method = McpMethods.EventStreamMethod;
                return true;
            case "DELETE":
                exchange.Method = McpMethods.SessionEndMethod;
                return true;
            case "POST":
                break;
            default:
                return await RefuseAsync(exchange, ReasonCodes.MethodNotAllowed, $"The MCP endpoint serves POST, GET and DELETE, not {request.Method}.");
        }
        // Streamable HTTP "Sending Messages": the body is a JSON-RPC message, Content-Type application/json.
        if (!MediaTypeHeaderValue.TryParse(request.ContentType, out var type)
            || !type.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase)
            || (type.Charset.HasValue && !type.Charset.Equals("utf-8", StringComparison.OrdinalIgnoreCase)))
        {
            return await RefuseAsync(exchange, ReasonCodes.UnsupportedMediaType, "An MCP message is application/json (UTF-8).");
        }
        // RFC 9110 §8.4: a body with a Content-Encoding is not the bytes the edge would read and decide on.
        var encoding = request.Headers.ContentEncoding;
        if (encoding.Count > 0 && !(encoding.Count == 1 && string.Equals(encoding[0], "identity", StringComparison.OrdinalIgnoreCase)))
        {
            return await RefuseAsync(exchange, ReasonCodes.UnsupportedMediaType, "The edge reads message bodies as sent: no Content-Encoding.");
        }
        return true;
    }

    /// <summary>Reads and checks the message; on success it is on the exchange and its bytes in <paramref name="read"/>.</summary>
    public async ValueTask<McpReadResult?> ReadAsync(McpExchange exchange)
    {
        var context = exchange.Context;
        var limit = options.Value.MaxMessageBytes;
        McpReadResult read;
        try
        {
            read = await McpMessageReader.ReadAsync(context.Request.Body, context.Request.ContentLength, limit,
                context.RequestAborted, renderArguments: exchange.Grant.ConstrainsArguments || McpHeaders.HasParamHeaders(context.Request.Headers));
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            // Kestrel's own body limit (set to the message limit + 1) fired first.
            read = McpReadResult.TooLarge();
        }
        exchange.RawId = read.RawId;
        switch (read.Status)
        {
            case McpReadStatus.TooLarge:
                read.Dispose();
                await RefuseAsync(exchange, ReasonCodes.MessageTooLarge, $"An MCP message through this edge is at most {limit} bytes.");
                return null;
            case McpReadStatus.Batch or McpReadStatus.Invalid:
                read.Dispose();
                await Refusals.RefuseAsync(exchange, ReasonCodes.InvalidMessage, read.ErrorMessage ?? "invalid JSON-RPC message", jsonRpcCode: read.ErrorCode);
                return null;
        }

        var message = read.Message!;
        exchange.Message = message;
        exchange.Method = message.Method ?? McpMessage.ResponseMethod;
        exchange.Name = message.Name;
        exchange.Generation = GenerationOf(context.Request.Headers, message);
        if (McpHeaders.CheckConsistency(context.Request.Headers, message) is { } mismatch)
        {
            // Refused before any decision: a header that disagrees with the body would let header-routed
            // middleboxes and the upstream see different calls.
            read.Dispose();
            await RefuseAsync(exchange, ReasonCodes.HeaderMismatch, mismatch);
            return null;
        }
        return read;
    }

    /// <summary>
    /// The generation whose method table applies: 2026-07-28 or later when the <c>MCP-Protocol-Version</c> header (or,
    /// without one, the body's <c>_meta</c> version) says so; the session generation otherwise (its <c>initialize</c>
    /// carries no header yet).
    /// </summary>
    internal static McpGeneration GenerationOf(IHeaderDictionary headers, McpMessage message)
    {
        var version = headers[McpHeaders.ProtocolVersion].ToString();
        if (version.Length == 0)
        {
            version = message.MetaProtocolVersion ?? "";
        }
        return version.Length > 0 && McpHeaders.RequiresMirroring(version) ? McpGeneration.Stateless : McpGeneration.Session;
    }

    private static async ValueTask<bool> RefuseAsync(McpExchange exchange, string reason, string detail)
    {
        await Refusals.RefuseAsync(exchange, reason, detail);
        return false;
    }
}
