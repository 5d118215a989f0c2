namespace Fabric.Demo.McpServer.Http;

/// <summary>
/// Logs whether the edge spliced a credential into a request to /mcp. Only presence and length are
/// logged, never the value: a secret must never reach a log (ARCHITECTURE, rules of the house).
/// </summary>
internal sealed partial class CredentialPresenceLogger(RequestDelegate next, ILogger<CredentialPresenceLogger> logger)
{
    public Task InvokeAsync(HttpContext context)
    {
        if (context.Request.Path.StartsWithSegments("/mcp"))
        {
            var authorization = context.Request.Headers.Authorization;
            var length = authorization.Count == 0 ? 0 : authorization.ToString().Length;
            LogCredential(logger, context.Request.Method, length > 0 ? "yes" : "no", length);
        }
        return next(context);
    }

    [LoggerMessage(EventId = 1001, Level = LogLevel.Information,
        Message = "MCP {HttpMethod} request: credential present: {Present} (Authorization length {Length})")]
    private static partial void LogCredential(ILogger logger, string httpMethod, string present, int length);
}
