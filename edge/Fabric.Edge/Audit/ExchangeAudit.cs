using System.Diagnostics;
using Fabric.Edge.Hosting;
using Fabric.Edge.Pipeline;
using Microsoft.Extensions.Options;

namespace Fabric.Edge.Audit;

/// <summary>
/// Step 9: the one place an exchange becomes an audit record (refusals included, before or after the decision),
/// a span's tags and the decision metrics. <see cref="Begin"/> opens the exchange's scope; disposing it, whatever
/// happened, writes the record.
/// </summary>
internal sealed class ExchangeAudit(AuditShipper shipper, EdgeTelemetry telemetry, IOptions<EdgeOptions> options, TimeProvider time)
{
    public Scope Begin(McpExchange exchange)
    {
        var activity = EdgeTelemetry.Source.HasListeners() ? EdgeTelemetry.Source.StartActivity(SpanName(exchange.Context.Request.Method)) : null;
        // The 2025 transport's GET event stream stays open for the whole session: not a message in flight.
        var inFlight = !HttpMethods.IsGet(exchange.Context.Request.Method);
        if (inFlight)
        {
            shipper.Begin();
        }
        return new Scope(this, exchange, activity, inFlight);
    }

    private void End(McpExchange exchange, Activity? activity, bool inFlight)
    {
        var latency = time.GetElapsedTime(exchange.Started).TotalMilliseconds;
        // The message's span when tracing is on, else the request's own activity (ASP.NET Core starts one while
        // logging is enabled): either way the trace id the upstream sees in its traceparent.
        var traceId = (activity ?? Activity.Current)?.TraceId.ToString();
        var record = exchange.ToRecord(options.Value.Name, time.GetUtcNow(), latency, traceId);
        if (telemetry.Decisions.Enabled || telemetry.Latency.Enabled)
        {
            var tags = new TagList { { "decision", record.Allowed ? "allow" : "deny" }, { "reason", record.Reason }, { "server", record.Server } };
            telemetry.Decisions.Add(1, tags);
            telemetry.Latency.Record(latency, tags);
        }
        if (activity is not null)
        {
            activity.SetTag("fabric.workload", record.Workload);
            activity.SetTag("fabric.server", record.Server);
            activity.SetTag("fabric.method", record.Method);
            activity.SetTag("fabric.name", record.Name);
            activity.SetTag("fabric.decision", record.Allowed ? "allow" : "deny");
            activity.SetTag("fabric.reason", record.Reason);
            activity.Dispose();
        }
        if (inFlight)
        {
            shipper.Complete(record);
        }
        else
        {
            shipper.Enqueue(record);
        }
        Recorded?.Invoke(record);
    }

    /// <summary>Raised once an exchange's record is handed to the shipper: the event a test awaits instead of polling.</summary>
    internal event Action<Fabric.Contracts.Audit.AuditRecord>? Recorded;

    private static string SpanName(string method) => method switch
    {
        "POST" => "mcp POST",
        "GET" => "mcp GET",
        "DELETE" => "mcp DELETE",
        _ => "mcp " + method,
    };

    public readonly struct Scope(ExchangeAudit audit, McpExchange exchange, Activity? activity, bool inFlight) : IDisposable
    {
        public void Dispose() => audit.End(exchange, activity, inFlight);
    }
}
