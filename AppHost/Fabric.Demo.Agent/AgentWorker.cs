using System.Diagnostics;
using System.Security.Cryptography;
using Fabric.Demo.Agent.Identity;
using Fabric.Demo.Agent.Management;
using Fabric.Demo.Agent.Telemetry;
using Microsoft.Extensions.Options;
using ModelContextProtocol;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace Fabric.Demo.Agent;

/// <summary>
/// The demo loop:
/// <code>
///  wait for /v1 ─► configure secret, server, policy ─► mint SVID ─► MCP client over mTLS to the edge
///       ▲                                                                   │
///       └──── backoff ◄── any transport failure / SVID at half-life ◄── rounds every ~2 s
/// </code>
/// Each round lists tools, makes three allowed calls and one the policy denies; each session also asks once for a call
/// the policy holds for approval (it waits in the console's Approvals page; once approved, the next session's ask goes
/// through, once). Setup is repeated
/// on every reconnect because the embedded silo keeps its state in memory and may have restarted.
/// </summary>
public sealed partial class AgentWorker(
    FabricApiClient api,
    AgentTelemetry telemetry,
    IOptions<DemoAgentOptions> options,
    ILoggerFactory loggerFactory,
    TimeProvider time) : BackgroundService
{
    /// <summary>JSON-RPC error code the edge answers a policy denial with (ARCHITECTURE: "Every bad input…").</summary>
    private const int PolicyDenied = -32003;
    private const string PolicyName = "demo-agent";
    private const string SecretName = "demo-token";
    private static readonly TimeSpan FirstBackoff = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan RoundTimeout = TimeSpan.FromSeconds(30);
    private static readonly string[] AllowedTools = ["echo", "get_weather", "list_files"];
    private static readonly string[] DeniedTools = ["delete_*"];
    private static readonly string[] GatedTools = ["archive_files"];
    private static readonly string[] StdioTools = ["echo", "call_api"];
    private static readonly string[] SaasMethods = ["GET"];
    private static readonly string[] SaasPaths = ["/api/*"];
    private static readonly string[] Cities = ["Oslo", "Lisbon", "Nairobi", "Kyoto", "Lima", "Montreal"];

    private readonly DemoAgentOptions _options = options.Value;
    private readonly ILogger _logger = loggerFactory.CreateLogger<AgentWorker>();

    // Random per process: the agent never needs it again; only the edge splices it into upstream calls.
    private readonly string _upstreamSecret = Convert.ToHexString(RandomNumberGenerator.GetBytes(24));

    // The SaaS API's key: in the fabric only; the launched stdio server is configured with its placeholder.
    private readonly string _saasKey = "demo_" + Convert.ToHexString(RandomNumberGenerator.GetBytes(16));

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var backoff = FirstBackoff;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await WaitForApiAsync(stoppingToken);
                await ConfigureFabricAsync(stoppingToken);
                await RunSessionAsync(() => backoff = FirstBackoff, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
#pragma warning disable CA1031 // A demo that must survive silo and edge restarts: every failure means "reconnect".
            catch (Exception ex)
#pragma warning restore CA1031
            {
                LogSessionFailed(_logger, ex.GetType().Name, ex.Message, backoff.TotalSeconds);
                await Task.Delay(backoff, time, stoppingToken);
                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, MaxBackoff.Ticks));
            }
        }
    }

    private async Task WaitForApiAsync(CancellationToken cancellationToken)
    {
        var delay = FirstBackoff;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await api.GetBundleAsync(cancellationToken);
                return;
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
            {
                LogWaitingForApi(_logger, _options.ApiUrl, attempt, ex.Message);
                await Task.Delay(delay, time, cancellationToken);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, MaxBackoff.Ticks));
            }
        }
    }

    private async Task ConfigureFabricAsync(CancellationToken cancellationToken)
    {
        await api.PutSecretAsync(SecretName, _upstreamSecret, cancellationToken);
        await api.PutServerAsync(_options.ServerName, new
        {
            upstream = _options.DemoServerUrl!.ToString(),
            credential = new
            {
                source = "local",
                @ref = SecretName,
                inject = new { header = "Authorization", format = "Bearer {secret}" },
            },
        }, cancellationToken);
        await api.PutPolicyAsync(PolicyName, new
        {
            subjects = new[] { _options.SpiffeId },
            rules = new object[]
            {
                new { server = _options.ServerName, effect = "allow", tools = AllowedTools },
                new { server = _options.ServerName, effect = "deny", tools = DeniedTools },
                new { server = _options.ServerName, effect = "allow", tools = GatedTools, when = new { approval = "required" } },
            },
        }, cancellationToken);
        LogConfigured(_logger, _options.ServerName, _options.DemoServerUrl, PolicyName);
        if (_options.Stdio.Enabled)
        {
            await ConfigureStdioAsync(_options.Stdio, cancellationToken);
        }
    }

    /// <summary>
    /// The stdio half (issue 11): the SaaS API as an egress target holding the key, a stdio server the edge launches
    /// with only the key's placeholder in its environment, the agent's grant on it, and the server's egress grant.
    /// </summary>
    private async Task ConfigureStdioAsync(DemoStdioOptions stdio, CancellationToken cancellationToken)
    {
        await api.PutSecretAsync("demo-saas-key", _saasKey, cancellationToken);
        await api.PutEgressTargetAsync(stdio.TargetName, new
        {
            upstream = stdio.SaasUrl!.ToString(),
            credential = new { source = "local", @ref = "demo-saas-key", inject = new { header = "Authorization", format = "Bearer {secret}" } },
            tls = new { caFile = stdio.SaasCaFile },
        }, cancellationToken);
        var identity = $"spiffe://fabric.local/mcp/{stdio.ServerName}";
        await api.PutServerAsync(stdio.ServerName, new
        {
            identity,
            launch = new
            {
                command = "dotnet",
                args = new[] { stdio.ServerDll },
                env = new Dictionary<string, string> { ["API_KEY"] = $"fabric:{stdio.TargetName}" },
                perWorkload = true,
                idleTimeoutSeconds = 120,
            },
        }, cancellationToken);
        await api.PutPolicyAsync(PolicyName + "-stdio", new
        {
            subjects = new[] { _options.SpiffeId },
            rules = new object[] { new { server = stdio.ServerName, effect = "allow", tools = StdioTools } },
        }, cancellationToken);
        await api.PutPolicyAsync(stdio.ServerName + "-egress", new
        {
            subjects = new[] { identity },
            rules = new object[] { new { egress = stdio.TargetName, effect = "allow", methods = SaasMethods, paths = SaasPaths } },
        }, cancellationToken);
        LogConfiguredStdio(_logger, stdio.ServerName, stdio.TargetName, stdio.SaasUrl);
    }

    private async Task RunSessionAsync(Action onConnected, CancellationToken cancellationToken)
    {
        var minted = await api.MintSvidAsync(_options.SpiffeId, _options.SvidTtlSeconds, cancellationToken);
        using var svid = AgentSvid.FromPem(minted.CertificatePem, minted.PrivateKeyPem, minted.BundlePem, minted.ExpiresAt);
        var renewAt = time.GetUtcNow() + (svid.ExpiresAt - time.GetUtcNow()) / 2;
        LogSvidMinted(_logger, _options.SpiffeId, svid.ExpiresAt, svid.Bundle.Count);

        using var http = EdgeHttpClient.Create(svid, _logger);
        var endpoint = new Uri(_options.EdgeUrl!, $"mcp/{_options.ServerName}");
        await using var transport = new HttpClientTransport(
            new HttpClientTransportOptions { Endpoint = endpoint, TransportMode = HttpTransportMode.StreamableHttp },
            http, loggerFactory, ownsHttpClient: false);
        var clientOptions = new McpClientOptions
        {
            ClientInfo = new Implementation { Name = "fabric-demo-agent", Version = "1.0.0" },
        };
        if (!string.IsNullOrWhiteSpace(_options.ProtocolVersion))
        {
            clientOptions.ProtocolVersion = _options.ProtocolVersion;
        }
        await using var client = await McpClient.CreateAsync(transport, clientOptions, loggerFactory, cancellationToken);
        LogConnected(_logger, endpoint, client.NegotiatedProtocolVersion ?? "?");
        onConnected();

        // The launched stdio server, through the same edge, as one more MCP server.
        await using var stdioTransport = _options.Stdio.Enabled
            ? new HttpClientTransport(new HttpClientTransportOptions { Endpoint = new Uri(_options.EdgeUrl!, $"mcp/{_options.Stdio.ServerName}"), TransportMode = HttpTransportMode.StreamableHttp },
                http, loggerFactory, ownsHttpClient: false)
            : null;
        await using var stdioClient = stdioTransport is null ? null : await McpClient.CreateAsync(stdioTransport, clientOptions, loggerFactory, cancellationToken);

        await AskForApprovalAsync(client, cancellationToken);

        for (var round = 1; time.GetUtcNow() < renewAt; round++)
        {
            // A round that hangs (an edge that stopped answering) fails the session: reconnect.
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            deadline.CancelAfter(RoundTimeout);
            await RunRoundAsync(client, round, deadline.Token);
            if (stdioClient is not null)
            {
                // The server's own outbound call: decided, keyed and audited at the edge (the answer's echo of the key masked).
                await CallAsync(stdioClient, "call_api", new Dictionary<string, object?> { ["url"] = new Uri(_options.Stdio.SaasUrl!, "/api/status").ToString() }, deadline.Token);
            }
            await Task.Delay(_options.Interval, time, cancellationToken);
        }
        LogRenewing(_logger);
    }

    private async Task RunRoundAsync(McpClient client, int round, CancellationToken cancellationToken)
    {
        using var activity = telemetry.Source.StartActivity("demo-agent round");
        activity?.SetTag("fabric.spiffe_id", _options.SpiffeId);
        activity?.SetTag("fabric.demo.round", round);

        var tools = await client.ListToolsAsync(cancellationToken: cancellationToken);
        var names = string.Join(", ", tools.Select(t => t.Name).Order(StringComparer.Ordinal));
        LogTools(_logger, round, names);
        if (tools.Any(t => t.Name == "delete_all_files"))
        {
            LogListNotFiltered(_logger);
        }

        var city = Cities[round % Cities.Length];
        var outcomes = new[]
        {
            await CallAsync(client, "echo", new Dictionary<string, object?> { ["text"] = $"hello #{round}" }, cancellationToken),
            await CallAsync(client, "get_weather", new Dictionary<string, object?> { ["city"] = city }, cancellationToken),
            await CallAsync(client, "list_files", new Dictionary<string, object?> { ["path"] = "/srv/demo" }, cancellationToken),
            await CallAsync(client, "delete_all_files", new Dictionary<string, object?> { ["path"] = "/srv/demo" }, cancellationToken),
        };
        activity?.SetTag("fabric.demo.allowed", outcomes.Count(o => o == CallOutcome.Allowed));
        activity?.SetTag("fabric.demo.denied", outcomes.Count(o => o == CallOutcome.Denied));
        if (outcomes.All(o => o == CallOutcome.Failed))
        {
            // Nothing got through at all (e.g. the upstream lost our session): start over.
            activity?.SetStatus(ActivityStatusCode.Error, "every call failed");
            throw new InvalidOperationException("every call in the round failed");
        }
    }

    /// <summary>
    /// The call a person must approve: the edge holds it (an input_required result, which this client, declaring no
    /// elicitation, sees as an error) and files an approval request; an approved request lets the same call through once.
    /// </summary>
    private async Task AskForApprovalAsync(McpClient client, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(RoundTimeout);
        try
        {
            var result = await client.CallToolAsync(GatedTools[0], new Dictionary<string, object?> { ["path"] = "/srv/demo" }, cancellationToken: deadline.Token);
            LogAllowed(_logger, GatedTools[0], Summarize(result));
        }
        catch (McpException ex)
        {
            LogAwaitingApproval(_logger, GatedTools[0], ex.Message);
        }
    }

    private async Task<CallOutcome> CallAsync(McpClient client, string tool, Dictionary<string, object?> arguments,
        CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        try
        {
            var result = await client.CallToolAsync(tool, arguments, cancellationToken: cancellationToken);
            var text = Summarize(result);
            if (result.IsError == true)
            {
                LogToolError(_logger, tool, text);
                telemetry.Record(tool, CallOutcome.Failed, time.GetElapsedTime(started));
                return CallOutcome.Failed;
            }
            LogAllowed(_logger, tool, text);
            if (tool.StartsWith("delete_", StringComparison.Ordinal))
            {
                LogPolicyNotEnforced(_logger, tool);
            }
            telemetry.Record(tool, CallOutcome.Allowed, time.GetElapsedTime(started));
            return CallOutcome.Allowed;
        }
        catch (McpProtocolException ex) when ((int)ex.ErrorCode == PolicyDenied)
        {
            LogDenied(_logger, tool, ex.Message);
            Activity.Current?.AddEvent(new ActivityEvent("fabric.denied", tags: new ActivityTagsCollection
            {
                ["mcp.tool.name"] = tool,
                ["fabric.reason"] = ex.Message,
            }));
            telemetry.Record(tool, CallOutcome.Denied, time.GetElapsedTime(started));
            return CallOutcome.Denied;
        }
        catch (McpProtocolException ex)
        {
            LogCallFailed(_logger, tool, (int)ex.ErrorCode, ex.Message);
            telemetry.Record(tool, CallOutcome.Failed, time.GetElapsedTime(started));
            return CallOutcome.Failed;
        }
    }

    private static string Summarize(CallToolResult result)
    {
        var text = string.Join(" ", result.Content.OfType<TextContentBlock>().Select(c => c.Text));
        return text.Length <= 200 ? text : text[..200] + "…";
    }
}
