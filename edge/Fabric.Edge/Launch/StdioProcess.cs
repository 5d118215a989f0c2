using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Fabric.Contracts.Policy;
using Fabric.Contracts.Servers;
using Fabric.Edge.Egress;

namespace Fabric.Edge.Launch;

/// <summary>
/// One running local MCP server: the edge is its only client, over its stdin and stdout (the MCP stdio transport:
/// one JSON-RPC message per line). Agents' requests are multiplexed onto it under ids of the edge's own, so no agent
/// can answer or cancel another's; its answers are matched back by that id. For the session generation the edge
/// makes the one <c>initialize</c> handshake itself and answers each agent's from it; a stateless (2026-07-28)
/// process gets every message as the agent sent it. What the process starts on its own is not relayed: server
/// requests (sampling, elicitation, roots) are answered with an error, notifications dropped and counted.
/// Its stderr goes to the edge log: line by line, truncated, rate-limited, with anything shaped like a key masked.
/// </summary>
internal sealed partial class StdioProcess : IAsyncDisposable
{
    /// <summary>The protocol revision the edge speaks to a session-generation process.</summary>
    public const string SessionProtocolVersion = "2025-11-25";

    private const int MaxStderrLine = 1024;
    private static readonly TimeSpan StderrWindow = TimeSpan.FromSeconds(10);
    private static readonly string[] SessionVersions = ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"];

    private static readonly byte[] NotRelayed =
        """{"jsonrpc":"2.0","id":0,"error":{"code":-32601,"message":"the fabric does not relay server-initiated requests to agents"}}"""u8.ToArray();
    private static readonly Range NotRelayedId = JsonRpcLines.Inspect(NotRelayed).Id!.Value;

    private readonly Process _process;
    private readonly Stream _stdin;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly ConcurrentDictionary<long, TaskCompletionSource<byte[]>> _pending = new();
    private readonly ConcurrentDictionary<(string Agent, string RawId), long> _agentIds = new();
    private readonly TaskCompletionSource _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly int _maxLine;
    private readonly int _stderrLinesPerWindow;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly ProxyCredentials.Issued? _proxy;
    private readonly ProxyCredentials _proxyCredentials;
    private long _nextId;
    private int _inFlight;
    private long _lastUsedTicks;
    private readonly Lock _callLock = new();
    private Guid? _currentCall;
    private bool _stopping;
    private long _droppedNotifications;
    private byte[]? _initializeResult;

    private StdioProcess(Process process, LaunchKey key, McpServerDefinition server, ProxyCredentials proxyCredentials, ProxyCredentials.Issued? proxy,
        int maxLine, int stderrLinesPerWindow, ILogger logger, TimeProvider time)
    {
        _process = process;
        _stdin = process.StandardInput.BaseStream;
        Key = key;
        Server = server;
        _proxyCredentials = proxyCredentials;
        _proxy = proxy;
        _maxLine = maxLine;
        _stderrLinesPerWindow = stderrLinesPerWindow;
        _logger = logger;
        _time = time;
        Started = time.GetUtcNow();
        Touch();
    }

    public LaunchKey Key { get; }

    public McpServerDefinition Server { get; }

    public int ProcessId => _process.Id;

    public DateTimeOffset Started { get; }

    public DateTimeOffset LastUsed => new(Interlocked.Read(ref _lastUsedTicks), TimeSpan.Zero);

    public bool IsIdle => Volatile.Read(ref _inFlight) == 0;

    public bool HasExited => _exited.Task.IsCompleted;

    /// <summary>Completes when the process has exited (for whatever reason).</summary>
    public Task Exited => _exited.Task;

    /// <summary>Whether the edge ended it (idle, replaced, shutdown) rather than the process itself.</summary>
    public bool StoppedByEdge => _stopping;

    /// <summary>Notifications and requests the process sent on its own, not relayed to any agent.</summary>
    public long DroppedNotifications => Interlocked.Read(ref _droppedNotifications);

    /// <summary>
    /// The agent call this process is working on (the most recent one in flight, else the last one): the parent of
    /// the outbound calls it makes. Exact for a per-workload process, whose every call is one agent's.
    /// </summary>
    public Guid? CurrentCall
    {
        get
        {
            lock (_callLock)
            {
                return _currentCall;
            }
        }
    }

    /// <summary>Starts the process with <paramref name="start"/> and, for the session generation, makes the handshake.</summary>
    public static async Task<StdioProcess> StartAsync(ProcessStartInfo start, LaunchKey key, McpServerDefinition server,
        ProxyCredentials proxyCredentials, ProxyCredentials.Issued? proxy, int maxLine, int stderrLinesPerWindow, TimeSpan startTimeout,
        ILogger logger, TimeProvider time, CancellationToken cancellationToken)
    {
        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        try
        {
            if (!process.Start())
            {
                throw new LaunchException(ReasonCodes.LaunchFailed, $"'{server.Name}' did not start");
            }
        }
        catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            // The credential is the caller's to revoke: it issued it and revokes it on any failure to start.
            process.Dispose();
            throw new LaunchException(ReasonCodes.LaunchFailed, $"'{server.Name}' could not be started: {ex.Message}");
        }
        var launched = new StdioProcess(process, key, server, proxyCredentials, proxy, maxLine, stderrLinesPerWindow, logger, time);
        launched.Run();
        LogStarted(logger, server.Name, process.Id, key.Generation, key.Workload?.ToString() ?? "(shared)");
        if (key.Generation == McpGeneration.Session)
        {
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeout.CancelAfter(startTimeout);
                await launched.InitializeAsync(timeout.Token);
            }
            catch (Exception ex)
            {
                await launched.DisposeAsync();
                throw ex as LaunchException ?? new LaunchException(ReasonCodes.LaunchFailed,
                    $"'{server.Name}' did not answer the edge's initialize: {(ex is OperationCanceledException ? "timed out" : ex.Message)}");
            }
        }
        return launched;
    }

    private void Run()
    {
        _ = Task.Run(ReadStdoutAsync);
        _ = Task.Run(ReadStderrAsync);
        _ = Task.Run(async () =>
        {
            await _process.WaitForExitAsync();
            _proxyCredentials.Revoke(_proxy?.User);
            var code = _process.ExitCode;
            // Exited before the waiters hear of it: the next request must find the process gone (and its backoff), not
            // race this continuation to a write on a closed stdin.
            _exited.TrySetResult();
            foreach (var id in _pending.Keys)
            {
                if (_pending.TryRemove(id, out var pending))
                {
                    pending.TrySetException(new LaunchException(ReasonCodes.LaunchFailed, $"'{Server.Name}' exited (code {code}) before it answered"));
                }
            }
            if (!_stopping)
            {
                LogExited(_logger, Server.Name, _process.Id, code);
            }
        });
    }

    private async Task InitializeAsync(CancellationToken cancellationToken)
    {
        var request = Encoding.UTF8.GetBytes(new JsonObject
        {
            ["jsonrpc"] = "2.0",
            ["id"] = 0,
            ["method"] = "initialize",
            ["params"] = new JsonObject
            {
                ["protocolVersion"] = SessionProtocolVersion,
                ["capabilities"] = new JsonObject(),
                ["clientInfo"] = new JsonObject { ["name"] = "fabric-edge", ["version"] = "1.0.0" },
            },
        }.ToJsonString());
        var answer = await RequestAsync(request, JsonRpcLines.Inspect(request).Id!.Value, cancellationToken);
        var node = JsonNode.Parse(answer);
        if (node?["result"] is not JsonObject result || result["protocolVersion"]?.GetValue<string>() is not { } version || !SessionVersions.Contains(version))
        {
            throw new LaunchException(ReasonCodes.LaunchFailed, $"'{Server.Name}' answered initialize without a result of a known protocol version");
        }
        _initializeResult = Encoding.UTF8.GetBytes(result.ToJsonString());
        await WriteLineAsync("""{"jsonrpc":"2.0","method":"notifications/initialized"}"""u8.ToArray(), cancellationToken);
    }

    /// <summary>Ends the process: stdin closed (a stdio server exits on EOF), then killed if it lingers.</summary>
    public async Task StopAsync(TimeSpan grace)
    {
        _stopping = true;
        try
        {
            _stdin.Close();
        }
        catch (IOException)
        {
        }
        if (!await WaitAsync(grace))
        {
            Kill();
            await WaitAsync(grace);
        }
    }

    private async Task<bool> WaitAsync(TimeSpan timeout)
    {
        try
        {
            await _exited.Task.WaitAsync(timeout, _time);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    private void Kill()
    {
        _stopping = true;
        try
        {
            _process.Kill(entireProcessTree: true);
        }
        catch (Exception ex) when (ex is InvalidOperationException or System.ComponentModel.Win32Exception)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!HasExited)
        {
            await StopAsync(TimeSpan.FromSeconds(2));
        }
        _proxyCredentials.Revoke(_proxy?.User);
        _process.Dispose();
        _writeLock.Dispose();
    }

    [LoggerMessage(EventId = 2601, Level = LogLevel.Information, Message = "Launched {Server} as process {Pid} ({Generation}, for {Workload})")]
    private static partial void LogStarted(ILogger logger, string server, int pid, McpGeneration generation, string workload);

    [LoggerMessage(EventId = 2602, Level = LogLevel.Warning, Message = "Launched {Server} (process {Pid}) exited with code {Code}")]
    private static partial void LogExited(ILogger logger, string server, int pid, int code);

    [LoggerMessage(EventId = 2603, Level = LogLevel.Information, Message = "{Server} [{Pid}] stderr: {Line}")]
    private static partial void LogStderr(ILogger logger, string server, int pid, string line);

    [LoggerMessage(EventId = 2604, Level = LogLevel.Warning, Message = "{Server} [{Pid}] stderr: {Count} lines not logged (rate limit)")]
    private static partial void LogStderrSuppressed(ILogger logger, string server, int pid, long count);

    [LoggerMessage(EventId = 2605, Level = LogLevel.Warning, Message = "{Server} [{Pid}] broke the stdio protocol ({What}); killed")]
    private static partial void LogViolation(ILogger logger, string server, int pid, string what);

    [LoggerMessage(EventId = 2606, Level = LogLevel.Warning, Message = "{Server} [{Pid}] wrote a line to stdout that is not a JSON-RPC message; dropped")]
    private static partial void LogNotJson(ILogger logger, string server, int pid);
}

/// <summary>Which process serves a call: one per server revision and agent generation, and per agent when <c>perWorkload</c>.</summary>
internal sealed record LaunchKey(string Server, long Revision, McpGeneration Generation, SpiffeId? Workload);

internal static class BoundedLineReader
{
    /// <summary>
    /// The next line of <paramref name="reader"/>, at most <paramref name="max"/> characters of it (the rest of an
    /// overlong line is read and discarded), or null at the end: a process cannot make the edge hold a huge line.
    /// </summary>
    public static async Task<string?> ReadLineBoundedAsync(this StreamReader reader, StringBuilder line, int max)
    {
        line.Clear();
        var buffer = new char[1];
        var any = false;
        while (await reader.ReadAsync(buffer.AsMemory()) == 1)
        {
            any = true;
            if (buffer[0] == '\n')
            {
                return line.ToString().TrimEnd('\r');
            }
            if (line.Length < max)
            {
                line.Append(buffer[0]);
            }
        }
        return any ? line.ToString() : null;
    }
}
