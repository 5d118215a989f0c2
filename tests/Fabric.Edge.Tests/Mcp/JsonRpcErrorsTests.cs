using System.Buffers;
using System.Text;
using System.Text.Json;
using Fabric.Contracts.Policy;
using Fabric.Edge.Mcp;
using Microsoft.AspNetCore.Http;

namespace Fabric.Edge.Tests.Mcp;

public sealed class JsonRpcErrorsTests
{
    [Fact]
    public void A_denial_round_trips_with_reason_policy_and_rule()
    {
        var output = new ArrayBufferWriter<byte>();
        JsonRpcErrors.WriteDenial(output, "7", Decision.Deny(ReasonCodes.ExplicitDeny, 3, "no-deletes", 0));

        using var document = JsonDocument.Parse(output.WrittenMemory);
        var root = document.RootElement;
        Assert.Equal("2.0", root.GetProperty("jsonrpc").GetString());
        Assert.Equal(7, root.GetProperty("id").GetInt32());
        var error = root.GetProperty("error");
        Assert.Equal(-32003, error.GetProperty("code").GetInt32());
        Assert.Equal("forbidden: explicit-deny", error.GetProperty("message").GetString());
        var data = error.GetProperty("data");
        Assert.Equal("explicit-deny", data.GetProperty("reason").GetString());
        Assert.Equal("no-deletes", data.GetProperty("policy").GetString());
        Assert.Equal(0, data.GetProperty("rule").GetInt32());
    }

    [Fact]
    public void A_denial_without_a_matching_policy_omits_policy_and_rule()
    {
        var output = new ArrayBufferWriter<byte>();
        JsonRpcErrors.WriteDenial(output, "\"abc\"", Decision.Deny(ReasonCodes.NoMatchingAllow, 1));

        Assert.Equal(
            """{"jsonrpc":"2.0","id":"abc","error":{"code":-32003,"message":"forbidden: no-matching-allow","data":{"reason":"no-matching-allow"}}}""",
            Encoding.UTF8.GetString(output.WrittenSpan));
    }

    [Theory]
    [InlineData("1", "1")]
    [InlineData("-12345678901234567890", "-12345678901234567890")]
    [InlineData("\"a\\u0062\\\"c\"", "\"a\\u0062\\\"c\"")]
    [InlineData(null, "null")]
    public void The_id_is_echoed_exactly_as_the_client_sent_it(string? rawId, string expected)
    {
        var output = new ArrayBufferWriter<byte>();
        JsonRpcErrors.WriteError(output, rawId, JsonRpcErrors.InvalidParams, "bad");

        Assert.StartsWith($$"""{"jsonrpc":"2.0","id":{{expected}},"error":""", Encoding.UTF8.GetString(output.WrittenSpan), StringComparison.Ordinal);
    }

    [Fact]
    public void A_general_error_carries_data_only_with_a_reason_code()
    {
        var plain = new ArrayBufferWriter<byte>();
        var reasoned = new ArrayBufferWriter<byte>();
        JsonRpcErrors.WriteError(plain, null, JsonRpcErrors.ParseError, "parse error");
        JsonRpcErrors.WriteError(reasoned, "2", JsonRpcErrors.UpstreamUnavailable, "upstream unavailable", ReasonCodes.UpstreamUnavailable);

        Assert.Equal("""{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"parse error"}}""", Encoding.UTF8.GetString(plain.WrittenSpan));
        using var document = JsonDocument.Parse(reasoned.WrittenMemory);
        Assert.Equal("upstream-unavailable", document.RootElement.GetProperty("error").GetProperty("data").GetProperty("reason").GetString());
        Assert.Equal(-32004, document.RootElement.GetProperty("error").GetProperty("code").GetInt32());
    }

    [Fact]
    public void Messages_are_json_escaped()
    {
        var output = new MemoryStream();
        JsonRpcErrors.WriteError(output, "1", JsonRpcErrors.HeaderMismatch, "Header mismatch: 'a\"b'\n</script>");

        using var document = JsonDocument.Parse(output.ToArray());
        Assert.Equal("Header mismatch: 'a\"b'\n</script>", document.RootElement.GetProperty("error").GetProperty("message").GetString());
        Assert.Equal(-32020, document.RootElement.GetProperty("error").GetProperty("code").GetInt32());
    }

    [Fact]
    public void The_stream_form_writes_the_same_bytes()
    {
        var decision = Decision.Deny(ReasonCodes.ArgumentConstraint, 9, "p", 2);
        var buffer = new ArrayBufferWriter<byte>();
        var stream = new MemoryStream();
        JsonRpcErrors.WriteDenial(buffer, "5", decision);
        JsonRpcErrors.WriteDenial(stream, "5", decision);

        Assert.Equal(buffer.WrittenSpan.ToArray(), stream.ToArray());
    }

    [Fact]
    public void An_invalid_raw_id_is_refused_not_spliced()
    {
        var output = new ArrayBufferWriter<byte>();
        Assert.ThrowsAny<JsonException>(() => JsonRpcErrors.WriteError(output, "1,\"x\":2", JsonRpcErrors.InternalError, "x"));
    }

    [Fact]
    public async Task WriteAsync_sets_status_content_type_and_length()
    {
        var context = new DefaultHttpContext();
        var body = new MemoryStream();
        context.Response.Body = body;

        await JsonRpcErrors.WriteAsync(context.Response, StatusCodes.Status400BadRequest, "3", JsonRpcErrors.HeaderMismatch, "Header mismatch: missing required Mcp-Method header");

        Assert.Equal(400, context.Response.StatusCode);
        Assert.Equal("application/json", context.Response.ContentType);
        Assert.Equal(body.Length, context.Response.ContentLength);
        using var document = JsonDocument.Parse(body.ToArray());
        Assert.Equal(3, document.RootElement.GetProperty("id").GetInt32());
        Assert.Equal(-32020, document.RootElement.GetProperty("error").GetProperty("code").GetInt32());
    }

    [Fact]
    public async Task WriteDenialAsync_writes_a_forbidden_error()
    {
        var context = new DefaultHttpContext();
        var body = new MemoryStream();
        context.Response.Body = body;

        await JsonRpcErrors.WriteDenialAsync(context.Response, StatusCodes.Status200OK, "\"q\"", Decision.Deny(ReasonCodes.WorkloadDisabled, 4));

        Assert.Equal(200, context.Response.StatusCode);
        using var document = JsonDocument.Parse(body.ToArray());
        Assert.Equal("q", document.RootElement.GetProperty("id").GetString());
        Assert.Equal("forbidden: workload-disabled", document.RootElement.GetProperty("error").GetProperty("message").GetString());
    }
}
