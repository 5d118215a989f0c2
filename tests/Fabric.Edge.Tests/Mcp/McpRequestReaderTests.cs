using Fabric.Contracts.Policy;
using Fabric.Edge.Mcp;
using Fabric.Edge.Pipeline;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Fabric.Edge.Tests.Mcp;

/// <summary>The transport checks of the Mcp step, on a bare request: which requests are refused before a byte of body is read.</summary>
public sealed class McpRequestReaderTests
{
    private static McpExchange Exchange(string method, string? contentType = null, string? contentEncoding = null)
    {
        var context = new DefaultHttpContext { RequestServices = new ServiceCollection().AddLogging().AddProblemDetails().BuildServiceProvider() };
        context.Request.Method = method;
        context.Request.ContentType = contentType;
        if (contentEncoding is not null)
        {
            context.Request.Headers.ContentEncoding = contentEncoding;
        }
        context.Response.Body = new MemoryStream();
        return new McpExchange(context, "files", TimeProvider.System);
    }

    [Theory]
    [InlineData("POST", "application/json", null, null)]
    [InlineData("POST", "application/json; charset=utf-8", null, null)]
    [InlineData("POST", "Application/JSON", "identity", null)]
    [InlineData("GET", null, null, null)]
    [InlineData("DELETE", null, null, null)]
    [InlineData("PUT", "application/json", null, ReasonCodes.MethodNotAllowed)]
    [InlineData("PATCH", "application/json", null, ReasonCodes.MethodNotAllowed)]
    [InlineData("HEAD", null, null, ReasonCodes.MethodNotAllowed)]
    [InlineData("POST", null, null, ReasonCodes.UnsupportedMediaType)]
    [InlineData("POST", "text/plain", null, ReasonCodes.UnsupportedMediaType)]
    [InlineData("POST", "application/json-seq", null, ReasonCodes.UnsupportedMediaType)]
    [InlineData("POST", "application/json; charset=latin1", null, ReasonCodes.UnsupportedMediaType)]
    [InlineData("POST", "application/json", "gzip", ReasonCodes.UnsupportedMediaType)]
    [InlineData("POST", "application/json", "identity, gzip", ReasonCodes.UnsupportedMediaType)]
    public async Task Refuses_what_the_transport_does_not_define(string method, string? contentType, string? contentEncoding, string? reason)
    {
        var exchange = Exchange(method, contentType, contentEncoding);

        var passed = await McpRequestReader.CheckTransportAsync(exchange);

        Assert.Equal(reason is null, passed);
        Assert.Equal(reason, exchange.Outcome);
        if (reason is not null)
        {
            Assert.Equal(Refusals.For(reason).Status, exchange.Context.Response.StatusCode);
            Assert.False(exchange.Allowed);
        }
    }

    [Fact]
    public async Task Get_and_delete_are_audited_as_their_transport_operation()
    {
        var get = Exchange("GET");
        var delete = Exchange("DELETE");
        await McpRequestReader.CheckTransportAsync(get);
        await McpRequestReader.CheckTransportAsync(delete);
        Assert.Equal(McpMethods.EventStreamMethod, get.Method);
        Assert.Equal(McpMethods.SessionEndMethod, delete.Method);
    }

    [Theory]
    [InlineData("2026-07-28", null, McpGeneration.Stateless)]
    [InlineData("2025-11-25", null, McpGeneration.Session)]
    [InlineData(null, "2026-07-28", McpGeneration.Stateless)]
    [InlineData(null, null, McpGeneration.Session)]
    [InlineData("DRAFT-2027", null, McpGeneration.Stateless)] // not a date: the stricter side
    public void The_generation_comes_from_the_version_header_or_else_the_body(string? header, string? meta, McpGeneration generation)
    {
        var headers = new HeaderDictionary();
        if (header is not null)
        {
            headers[McpHeaders.ProtocolVersion] = header;
        }
        var message = new McpMessage(McpMessageKind.Request, "1", "ping", null, null, meta);
        Assert.Equal(generation, McpRequestReader.GenerationOf(headers, message));
    }
}
