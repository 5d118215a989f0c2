namespace Fabric.Demo.Agent;

/// <summary>What the demo loop logs (event ids 2001–2017): what a person watching the dashboard reads.</summary>
public sealed partial class AgentWorker
{
    [LoggerMessage(EventId = 2001, Level = LogLevel.Information, Message = "Waiting for the fabric API at {ApiUrl} (attempt {Attempt}): {Error}")]
    private static partial void LogWaitingForApi(ILogger logger, Uri? apiUrl, int attempt, string error);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Information, Message = "Configured server '{Server}' -> {Upstream} and policy '{Policy}'")]
    private static partial void LogConfigured(ILogger logger, string server, Uri? upstream, string policy);

    [LoggerMessage(EventId = 2007, Level = LogLevel.Information, Message = "Configured launched server '{Server}' (no key in its environment) and egress target '{Target}' -> {SaasUrl}")]
    private static partial void LogConfiguredStdio(ILogger logger, string server, string target, Uri? saasUrl);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Information, Message = "Minted SVID {SpiffeId}, expires {ExpiresAt:o}; trusting {BundleCount} bundle certificate(s)")]
    private static partial void LogSvidMinted(ILogger logger, string spiffeId, DateTimeOffset expiresAt, int bundleCount);

    [LoggerMessage(EventId = 2004, Level = LogLevel.Information, Message = "Connected to {Endpoint} over mTLS (MCP protocol {ProtocolVersion})")]
    private static partial void LogConnected(ILogger logger, Uri endpoint, string protocolVersion);

    [LoggerMessage(EventId = 2005, Level = LogLevel.Information, Message = "SVID at half-life: renewing and reconnecting")]
    private static partial void LogRenewing(ILogger logger);

    [LoggerMessage(EventId = 2006, Level = LogLevel.Warning, Message = "Session failed ({ErrorType}: {Error}); reconnecting in {BackoffSeconds} s")]
    private static partial void LogSessionFailed(ILogger logger, string errorType, string error, double backoffSeconds);

    [LoggerMessage(EventId = 2010, Level = LogLevel.Information, Message = "Round {Round}: tools visible through the edge: [{Tools}]")]
    private static partial void LogTools(ILogger logger, int round, string tools);

    [LoggerMessage(EventId = 2011, Level = LogLevel.Warning, Message = "tools/list still shows delete_all_files: the edge did not filter the list")]
    private static partial void LogListNotFiltered(ILogger logger);

    [LoggerMessage(EventId = 2012, Level = LogLevel.Information, Message = "allowed: {Tool} -> {Result}")]
    private static partial void LogAllowed(ILogger logger, string tool, string result);

    [LoggerMessage(EventId = 2017, Level = LogLevel.Information, Message = "held for approval: {Tool}: {Reason} (approve it in the console's Approvals page)")]
    private static partial void LogAwaitingApproval(ILogger logger, string tool, string reason);

    [LoggerMessage(EventId = 2013, Level = LogLevel.Information, Message = "denied: {Tool}: {Reason}")]
    private static partial void LogDenied(ILogger logger, string tool, string reason);

    [LoggerMessage(EventId = 2014, Level = LogLevel.Warning, Message = "{Tool} was NOT denied: the policy is not being enforced")]
    private static partial void LogPolicyNotEnforced(ILogger logger, string tool);

    [LoggerMessage(EventId = 2015, Level = LogLevel.Warning, Message = "{Tool} returned a tool error: {Result}")]
    private static partial void LogToolError(ILogger logger, string tool, string result);

    [LoggerMessage(EventId = 2016, Level = LogLevel.Warning, Message = "{Tool} failed with JSON-RPC error {Code}: {Error}")]
    private static partial void LogCallFailed(ILogger logger, string tool, int code, string error);
}
