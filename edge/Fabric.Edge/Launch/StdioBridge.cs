using System.Security.Cryptography;
using System.Text;
using Fabric.Contracts.Policy;
using Fabric.Edge.Caching;
using Fabric.Edge.Mcp;
using Fabric.Edge.Pipeline;

namespace Fabric.Edge.Launch;

/// <summary>
/// Step 8 for a launched server: the decided message goes to its process over stdio and the process's answer comes
/// back as the Streamable HTTP answer an upstream would give (<c>application/json</c>), into the same response
/// filters (list filtering, redaction) and audit as a remote server's. The transport's parts that belong to the
/// session are the edge's here: it answers <c>initialize</c> from the process's handshake and mints the
/// <c>Mcp-Session-Id</c> (bound to the agent before the agent sees it), takes <c>notifications/initialized</c>,
/// ends sessions on DELETE, and offers no GET stream (405, which the transport allows).
/// </summary>
internal sealed class StdioBridge(LaunchedServers launched, EdgeCache cache)
{
    /// <summary>Serves the exchange; returns the reason code of a refusal (nothing written), or null once answered.</summary>
    public async Task<(string Reason, string Detail)?> SendAsync(McpExchange exchange, ReadOnlyMemory<byte> body)
    {
        var context = exchange.Context;
        var request = context.Request;
        var response = context.Response;
        if (HttpMethods.IsGet(request.Method))
        {
            exchange.UpstreamStatus = StatusCodes.Status405MethodNotAllowed;
            response.StatusCode = StatusCodes.Status405MethodNotAllowed;
            response.Headers.Allow = "POST, DELETE";
            return null;
        }
        if (HttpMethods.IsDelete(request.Method))
        {
            exchange.UpstreamStatus = StatusCodes.Status200OK;
            response.StatusCode = StatusCodes.Status200OK;
            return null;
        }

        var message = exchange.Message!;
        var agent = exchange.Workload!.ToString();
        StdioProcess process;
        try
        {
            process = await launched.AcquireAsync(exchange.Server!, exchange.Workload!, exchange.Generation, context.RequestAborted);
        }
        catch (LaunchException ex)
        {
            return (ex.Reason, ex.Message);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            exchange.Abandon(ReasonCodes.ClientClosed);
            return null;
        }

        using var call = process.BeginCall(exchange.RecordId);
        switch (message.Kind)
        {
            case McpMessageKind.Request when message.Method == "initialize" && exchange.Generation == McpGeneration.Session:
                return await InitializeAsync(exchange, process, body);
            case McpMessageKind.Request:
                return await RequestAsync(exchange, process, body, agent);
            case McpMessageKind.Notification when message.Method != "notifications/initialized":
                try
                {
                    await process.NotifyAsync(body, message.Method!, agent, context.RequestAborted);
                }
                catch (LaunchException ex)
                {
                    return (ex.Reason, ex.Message);
                }
                break;
        }
        // A notification (the handshake's own is the edge's), or a client's answer to a server request the edge never
        // relays: accepted, as the transport says.
        exchange.UpstreamStatus = StatusCodes.Status202Accepted;
        response.StatusCode = StatusCodes.Status202Accepted;
        return null;
    }

    private async Task<(string, string)?> InitializeAsync(McpExchange exchange, StdioProcess process, ReadOnlyMemory<byte> body)
    {
        var sessionId = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        if (!await cache.BindSessionAsync(exchange.Server!.Name, sessionId, exchange.Workload!))
        {
            return (ReasonCodes.SessionBindingMismatch, "The session id the edge minted is already bound.");
        }
        var result = process.InitializeResultFor(RequestedVersion(body.Span));
        var answer = new List<byte>(result.Length + 64);
        answer.AddRange("{\"jsonrpc\":\"2.0\",\"id\":"u8.ToArray());
        answer.AddRange(Encoding.UTF8.GetBytes(exchange.Message!.RawId!));
        answer.AddRange(",\"result\":"u8.ToArray());
        answer.AddRange(result);
        answer.Add((byte)'}');
        exchange.Context.Response.Headers[McpHeaders.SessionId] = sessionId;
        await WriteJsonAsync(exchange, [.. answer]);
        return null;
    }

    private static async Task<(string, string)?> RequestAsync(McpExchange exchange, StdioProcess process, ReadOnlyMemory<byte> body, string agent)
    {
        var context = exchange.Context;
        var shape = JsonRpcLines.Inspect(body.Span);
        byte[] line;
        try
        {
            line = await process.RequestAsync(body, shape.Id!.Value, context.RequestAborted, agent, exchange.Message!.RawId);
        }
        catch (LaunchException ex)
        {
            return (ex.Reason, ex.Message);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            exchange.Abandon(ReasonCodes.ClientClosed);
            return null;
        }
        var answerShape = JsonRpcLines.Inspect(line);
        // The process's line carries the edge's id; the agent gets its own back, byte for byte.
        var answer = JsonRpcLines.WithId(line, answerShape.Id!.Value, Encoding.UTF8.GetBytes(exchange.Message!.RawId!), newline: false);
        await WriteJsonAsync(exchange, answer);
        return null;
    }

    private static async Task WriteJsonAsync(McpExchange exchange, byte[] json)
    {
        var response = exchange.Context.Response;
        exchange.UpstreamStatus = StatusCodes.Status200OK;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "application/json";
        await response.Body.WriteAsync(json, exchange.Context.RequestAborted);
    }

    /// <summary><c>params.protocolVersion</c> of an <c>initialize</c>, or null.</summary>
    private static string? RequestedVersion(ReadOnlySpan<byte> body)
    {
        try
        {
            using var document = System.Text.Json.JsonDocument.Parse(body.ToArray());
            return document.RootElement.TryGetProperty("params", out var parameters) && parameters.ValueKind == System.Text.Json.JsonValueKind.Object
                && parameters.TryGetProperty("protocolVersion", out var version) && version.ValueKind == System.Text.Json.JsonValueKind.String
                ? version.GetString()
                : null;
        }
        catch (System.Text.Json.JsonException)
        {
            return null;
        }
    }
}
