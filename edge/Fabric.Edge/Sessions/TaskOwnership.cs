using System.Text.Json;
using Fabric.Contracts.Policy;
using Fabric.Edge.Caching;
using Fabric.Edge.Mcp;
using Fabric.Edge.Pipeline;
using Fabric.Hosting;

namespace Fabric.Edge.Sessions;

/// <summary>
/// Tasks (the MCP tasks utility: a task-augmented <c>tools/call</c>, then <c>tasks/get</c>, <c>tasks/result</c>,
/// <c>tasks/cancel</c>, and <c>tasks/update</c> of the 2026-07-28 extension) are bound to the identity that created them
/// (issue 12 §5), as sessions are. The task id in a task-augmented call's answer (<c>result.task.taskId</c>) is bound
/// to the caller before the agent sees it; a <c>tasks/*</c> request naming a task bound to another identity, or one
/// the fabric never saw created, is refused 403 <c>task-binding-mismatch</c> and never forwarded. <c>tasks/list</c>
/// would list every identity's tasks: it is in no method table (a rule must name it to allow it).
/// </summary>
internal sealed class TaskOwnership(EdgeCache cache)
{
    /// <summary>The methods that name a task in <c>params.taskId</c>.</summary>
    public static bool NamesTask(string? method) => method is "tasks/get" or "tasks/result" or "tasks/cancel" or "tasks/update";

    /// <summary>True when a <c>tools/call</c> body asks for a task (<c>params.task</c> is an object): its answer is read for the id.</summary>
    public static bool AsksForTask(McpMessage message, ReadOnlyMemory<byte> body)
    {
        if (message is not { Kind: McpMessageKind.Request, Method: McpMethods.ToolsCall } || body.Span.IndexOf("\"task\""u8) < 0)
        {
            return false;
        }
        using var document = JsonDocument.Parse(body);
        return document.RootElement.TryGetProperty("params", out var parameters) && parameters.ValueKind == JsonValueKind.Object
            && parameters.TryGetProperty("task", out var task) && task.ValueKind == JsonValueKind.Object;
    }

    /// <summary>Refuses (403) a <c>tasks/*</c> request for a task this identity did not create; the cluster unreachable → 503.</summary>
    public async ValueTask<bool> CheckAsync(McpExchange exchange, ReadOnlyMemory<byte> body)
    {
        if (exchange.Message is not { Kind: McpMessageKind.Request, Method: var method } || !NamesTask(method))
        {
            return true;
        }
        var taskId = TaskIdOf(body);
        try
        {
            if (taskId is not null && exchange.Workload!.Equals(await cache.GetTaskOwnerAsync(exchange.ServerName, taskId)))
            {
                return true;
            }
        }
        catch (Exception ex) when (ClusterCalls.IsClusterFault(ex))
        {
            await Refusals.RefuseAsync(exchange, ReasonCodes.PolicyUnavailable, "The fabric could not check the task's owner; the call is denied.");
            return false;
        }
        // Unknown and foreign ids get the same answer: which task ids exist is not for another identity to learn.
        await Refusals.RefuseAsync(exchange, ReasonCodes.TaskBindingMismatch, "This task was not created by this identity through the fabric.");
        return false;
    }

    /// <summary>
    /// Binds the task id of a task-augmented call's (buffered) answer to the caller; false when the upstream answered
    /// with an id already bound to another identity (the answer must not reach the agent).
    /// </summary>
    public ValueTask<bool> BindAsync(McpExchange exchange, ReadOnlySpan<byte> answer) =>
        CreatedTaskIdOf(answer) is { } taskId ? cache.BindTaskAsync(exchange.ServerName, taskId, exchange.Workload!) : ValueTask.FromResult(true);

    private static string? TaskIdOf(ReadOnlyMemory<byte> body)
    {
        using var document = JsonDocument.Parse(body);
        return document.RootElement.TryGetProperty("params", out var parameters) && parameters.ValueKind == JsonValueKind.Object
            && parameters.TryGetProperty("taskId", out var id) && id.ValueKind == JsonValueKind.String && id.GetString() is { Length: > 0 and <= 256 } taskId
            ? taskId
            : null;
    }

    /// <summary><c>result.task.taskId</c> of a JSON answer, or of the last JSON-RPC message of an SSE answer.</summary>
    internal static string? CreatedTaskIdOf(ReadOnlySpan<byte> answer)
    {
        using var document = AnswerMessage.ParseResult(answer, out var result);
        return document is not null
            && result.TryGetProperty("task", out var task) && task.ValueKind == JsonValueKind.Object
            && task.TryGetProperty("taskId", out var id) && id.ValueKind == JsonValueKind.String && id.GetString() is { Length: > 0 and <= 256 } taskId
            ? taskId
            : null;
    }
}
