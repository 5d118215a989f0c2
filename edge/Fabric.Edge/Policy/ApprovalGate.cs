using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Fabric.Contracts.Approvals;
using Fabric.Contracts.Grains;
using Fabric.Contracts.Policy;
using Fabric.Contracts.Servers;
using Fabric.Edge.Mcp;
using Fabric.Edge.Pipeline;
using Fabric.Hosting;

namespace Fabric.Edge.Policy;

/// <summary>
/// The approvals' part of step 6 (issue 12 §3). A tool call a rule allows only with approval is bound to (identity,
/// server, tool, SHA-256 of its canonical arguments) and asked of the approvals grain: approved → forwarded once (the
/// grain consumes the approval in that answer); pending → not forwarded, the agent is told which approval it waits
/// for; denied → <c>approval-denied</c>. Nothing in the request can approve it: <c>requestState</c> and
/// <c>inputResponses</c> a client echoes are never read for the decision (and are not forwarded).
/// </summary>
internal sealed class ApprovalGate(IClusterClient cluster)
{
    /// <summary>The key of the elicitation an input_required answer carries, and the prefix of its requestState.</summary>
    public const string InputKey = "fabric-approval";

    /// <summary>
    /// The decision for a call the policy answered <c>approval-required</c>: allowed (with the approval's id), still
    /// <c>approval-required</c> or <c>approval-denied</c> (with it); null when the cluster could not answer (fail closed).
    /// </summary>
    public async ValueTask<Decision?> ResolveAsync(McpExchange exchange, Decision decision, ReadOnlyMemory<byte> body)
    {
        var binding = new ApprovalBinding(exchange.Workload!.ToString(), exchange.ServerName, exchange.Message!.Name!, ArgumentsDigest(body));
        ApprovalAnswer answer;
        try
        {
            // Not retried: a request that ran but whose answer was lost may have consumed the approval, and a retry
            // would then open a second request; refusing this once is the safe side.
            answer = await cluster.Approvals().RequestAsync(binding, decision.Policy ?? "", decision.Rule ?? 0);
        }
        catch (Exception ex) when (ClusterCalls.IsClusterFault(ex))
        {
            return null;
        }
        return answer.State switch
        {
            ApprovalState.Approved => decision with { Allowed = true, Reason = ReasonCodes.Allowed, ApprovalId = answer.Id },
            ApprovalState.Denied => decision with { Reason = ReasonCodes.ApprovalDenied, ApprovalId = answer.Id },
            _ => decision with { ApprovalId = answer.Id },
        };
    }

    /// <summary>SHA-256 (hex) of the canonical JSON of <c>params.arguments</c> (<c>{}</c> when absent).</summary>
    public static string ArgumentsDigest(ReadOnlyMemory<byte> body)
    {
        using var document = JsonDocument.Parse(body);
        var canonical = document.RootElement.TryGetProperty("params", out var parameters) && parameters.ValueKind == JsonValueKind.Object
            && parameters.TryGetProperty("arguments", out var arguments)
            ? LockDigest.CanonicalValue(arguments)
            : "{}";
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(canonical)));
    }

    /// <summary>
    /// The body to forward for an approved call: without the <c>requestState</c> and <c>inputResponses</c> of the
    /// input_required round (the fabric's, not the server's); the body itself when it has neither.
    /// </summary>
    public static ReadOnlyMemory<byte> WithoutRoundState(ReadOnlyMemory<byte> body)
    {
        var root = JsonNode.Parse(body.Span) as JsonObject;
        if (root?["params"] is not JsonObject parameters || !(parameters.Remove("requestState") | parameters.Remove("inputResponses")))
        {
            return body;
        }
        return JsonSerializer.SerializeToUtf8Bytes(root);
    }

    /// <summary>
    /// A 2026-07-28 client's answer while the approval is pending: an <c>input_required</c> result (SEP-2322) whose
    /// requestState names the approval, with an elicitation that says so when the client declared elicitation.
    /// </summary>
    public static async Task WriteInputRequiredAsync(McpExchange exchange, Decision decision, ReadOnlyMemory<byte> body)
    {
        var response = exchange.Context.Response;
        var buffer = new ArrayBufferWriter<byte>(512);
        var message = $"The fabric holds this call of '{exchange.Message!.Name}' on '{exchange.ServerName}' until an administrator approves it: approval {decision.ApprovalId}. Retry the same call once it is approved.";
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("jsonrpc"u8, "2.0"u8);
            writer.WritePropertyName("id"u8);
            writer.WriteRawValue(exchange.Message.RawId!);
            writer.WriteStartObject("result"u8);
            writer.WriteString("resultType"u8, "input_required"u8);
            writer.WriteString("requestState"u8, InputKey + "." + decision.ApprovalId);
            if (DeclaresElicitation(body))
            {
                writer.WriteStartObject("inputRequests"u8);
                writer.WriteStartObject(InputKey);
                writer.WriteString("method"u8, "elicitation/create"u8);
                writer.WriteStartObject("params"u8);
                writer.WriteString("mode"u8, "form"u8);
                writer.WriteString("message"u8, message);
                writer.WriteStartObject("requestedSchema"u8);
                writer.WriteString("type"u8, "object"u8);
                writer.WriteStartObject("properties"u8);
                writer.WriteEndObject();
                writer.WriteEndObject();
                writer.WriteEndObject();
                writer.WriteEndObject();
                writer.WriteEndObject();
            }
            writer.WriteStartObject("_meta"u8);
            writer.WriteStartObject("io.fabric/approval"u8);
            writer.WriteString("id"u8, decision.ApprovalId);
            writer.WriteString("reason"u8, ReasonCodes.ApprovalRequired);
            writer.WriteString("message"u8, message);
            writer.WriteEndObject();
            writer.WriteEndObject();
            writer.WriteEndObject();
            writer.WriteEndObject();
        }
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = JsonRpcErrors.ContentType;
        response.ContentLength = buffer.WrittenCount;
        await response.Body.WriteAsync(buffer.WrittenMemory, exchange.Context.RequestAborted);
    }

    private static bool DeclaresElicitation(ReadOnlyMemory<byte> body)
    {
        using var document = JsonDocument.Parse(body);
        return document.RootElement.TryGetProperty("params", out var parameters) && parameters.ValueKind == JsonValueKind.Object
            && parameters.TryGetProperty("_meta", out var meta) && meta.ValueKind == JsonValueKind.Object
            && meta.TryGetProperty("io.modelcontextprotocol/clientCapabilities", out var capabilities) && capabilities.ValueKind == JsonValueKind.Object
            && capabilities.TryGetProperty("elicitation", out var elicitation) && elicitation.ValueKind == JsonValueKind.Object;
    }
}
