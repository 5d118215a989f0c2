using System.Text;
using System.Text.Json;
using Fabric.Hosting;
using Fabric.Silo.Apis;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Orleans.Runtime;
using Orleans.Runtime.Messaging;

namespace Fabric.Silo.Tests.Apis;

/// <summary>
/// The management API during a failover: rejected idempotent calls run again (with their body), and
/// what cannot be retried answers a retryable 503 <c>cluster-unavailable</c>, never a 500.
/// </summary>
public sealed class ClusterCallFilterTests
{
    private static readonly ClusterCallFilter Filter = new(
        new ClusterCalls(TimeSpan.FromSeconds(5), TimeProvider.System, NullLogger<ClusterCalls>.Instance),
        NullLogger<ClusterCallFilter>.Instance);

    private static DefaultHttpContext Request(string method, string body = "")
    {
        var context = new DefaultHttpContext { RequestServices = new ServiceCollection().AddLogging().AddProblemDetails().BuildServiceProvider() };
        context.Request.Method = method;
        context.Request.Path = "/v1/policies/p";
        context.Request.Body = new MemoryStream(Encoding.UTF8.GetBytes(body));
        context.Response.Body = new MemoryStream();
        return context;
    }

    private static EndpointFilterInvocationContext Invocation(HttpContext http) => EndpointFilterInvocationContext.Create(http);

    [Theory]
    [InlineData("PUT")]
    [InlineData("DELETE")]
    [InlineData("GET")]
    public async Task A_rejected_idempotent_call_runs_again_and_reads_the_whole_body_each_time(string method)
    {
        var http = Request(method, """{"subjects":["spiffe://fabric.local/a"]}""");
        var bodies = new List<string>();

        var result = await Filter.InvokeAsync(Invocation(http), async context =>
        {
            using var reader = new StreamReader(context.HttpContext.Request.Body, leaveOpen: true);
            bodies.Add(await reader.ReadToEndAsync());
            return bodies.Count < 3 ? throw new SiloUnavailableException("silo is dead") : "stored";
        });

        Assert.Equal("stored", result);
        Assert.Equal(3, bodies.Count);
        Assert.All(bodies, b => Assert.Equal(bodies[0], b));
        Assert.Equal("""{"subjects":["spiffe://fabric.local/a"]}""", bodies[0]);
    }

    [Fact]
    public async Task A_rejected_post_is_not_run_twice_and_answers_a_retryable_503()
    {
        var http = Request("POST", "{}");
        var runs = 0;

        var result = await Filter.InvokeAsync(Invocation(http), _ =>
        {
            runs++;
            throw new ConnectionFailedException("target silo is unavailable");
        });

        Assert.Equal(1, runs);
        await AssertClusterUnavailableAsync(http, result);
    }

    [Fact]
    public async Task A_timed_out_call_may_still_run_so_it_is_not_retried_even_when_idempotent()
    {
        var http = Request("PUT", "{}");
        var runs = 0;

        var result = await Filter.InvokeAsync(Invocation(http), _ =>
        {
            runs++;
            throw new TimeoutException("response did not arrive on time");
        });

        Assert.Equal(1, runs);
        await AssertClusterUnavailableAsync(http, result);
    }

    [Fact]
    public async Task Other_failures_are_not_mistaken_for_a_failover()
    {
        var http = Request("GET");

        await Assert.ThrowsAsync<InvalidOperationException>(async () =>
            await Filter.InvokeAsync(Invocation(http), _ => throw new InvalidOperationException("a bug")));
    }

    private static async Task AssertClusterUnavailableAsync(HttpContext http, object? result)
    {
        var problem = Assert.IsAssignableFrom<IResult>(result);
        await problem.ExecuteAsync(http);
        Assert.Equal(StatusCodes.Status503ServiceUnavailable, http.Response.StatusCode);
        Assert.Equal("1", http.Response.Headers.RetryAfter.ToString());
        http.Response.Body.Position = 0;
        using var json = await JsonDocument.ParseAsync(http.Response.Body);
        Assert.Equal("cluster-unavailable", json.RootElement.GetProperty("reason").GetString());
        Assert.True(json.RootElement.GetProperty("retryable").GetBoolean());
    }
}
