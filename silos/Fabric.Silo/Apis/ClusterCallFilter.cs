using Fabric.Hosting;

namespace Fabric.Silo.Apis;

/// <summary>
/// Keeps the management API answering sensibly while the cluster reshapes itself (a silo died and is
/// not yet declared dead, its grains not yet reactivated elsewhere).
/// <list type="bullet">
/// <item>Idempotent requests (GET, HEAD, PUT, DELETE) whose grain calls are rejected are run again, the
/// body rewound, within the cluster's call budget (<c>Fabric:Cluster:CallRetryBudget</c>, the same
/// <see cref="ClusterCalls"/> the edges use).</item>
/// <item>What still fails that way, a POST's rejection, or a grain call timeout answers
/// <c>503</c> with <c>Retry-After</c> and the reason <c>cluster-unavailable</c>: a clear, retryable error
/// instead of a 500. A timed-out call may still have run, so nothing that timed out is retried here.</item>
/// </list>
/// </summary>
internal sealed partial class ClusterCallFilter(ClusterCalls calls, ILogger<ClusterCallFilter> logger) : IEndpointFilter
{
    public const string Reason = "cluster-unavailable";

    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        try
        {
            if (!IsIdempotent(http.Request.Method))
            {
                return await next(context);
            }
            http.Request.EnableBuffering();
            var attempt = 0;
            return await calls.RetryAsync(() =>
            {
                if (attempt++ > 0)
                {
                    // Every body is bounded (ApiBody.MaxBytes), so buffering it for a second read is cheap.
                    http.Request.Body.Position = 0;
                }
                return next(context);
            }, http.RequestAborted);
        }
        catch (Exception ex) when ((ClusterCalls.IsTransient(ex) || ex is TimeoutException) && !http.Response.HasStarted)
        {
            LogUnavailable(logger, http.Request.Method, http.Request.Path, ex.GetType().Name, ex.Message);
            http.Response.Headers.RetryAfter = "1";
            return ApiBody.Refusal(StatusCodes.Status503ServiceUnavailable, Reason,
                "A grain call could not be delivered (a silo is leaving the cluster); retry shortly.",
                title: "The cluster is reconfiguring", more: [new("retryable", true)]);
        }
    }

    private static bool IsIdempotent(string method) =>
        HttpMethods.IsGet(method) || HttpMethods.IsHead(method) || HttpMethods.IsPut(method) || HttpMethods.IsDelete(method);

    [LoggerMessage(EventId = 3101, Level = LogLevel.Warning, Message = "{Method} {Path} answered 503 cluster-unavailable ({Exception}: {Error})")]
    private static partial void LogUnavailable(ILogger logger, string method, PathString path, string exception, string error);
}
