using System.Collections.Concurrent;
using System.Diagnostics;
using Fabric.Contracts.Policy;
using Fabric.Contracts.Servers;
using Fabric.Edge.Egress;
using Fabric.Edge.Hosting;
using Microsoft.Extensions.Options;

namespace Fabric.Edge.Launch;

/// <summary>
/// The local (stdio) MCP servers this edge runs (issue 11 §4): started on the first call that needs one, one per
/// server revision and agent protocol generation (and per agent with <c>perWorkload</c>), stopped when idle past the
/// server's <c>idleTimeoutSeconds</c>, when the server's definition changes, and with the edge. A process that
/// exits on its own is started again by the next call that needs it, no sooner than its backoff (one second,
/// doubling per consecutive short-lived run, at most <see cref="EdgeLaunchOptions.MaxRestartBackoff"/>).
/// <para>
/// The environment is built, never inherited: <c>PATH</c>, <c>HOME</c>, <c>LANG</c>, <c>TZ</c> of the edge, the
/// declared <c>env</c>, the egress proxy (<c>HTTPS_PROXY</c>/<c>HTTP_PROXY</c>/<c>ALL_PROXY</c>, both cases) with a
/// proxy credential of this process's own as user and password, and the egress CA alone as the trust store
/// (<c>SSL_CERT_FILE</c>, <c>SSL_CERT_DIR</c>, <c>NODE_EXTRA_CA_CERTS</c>, <c>REQUESTS_CA_BUNDLE</c>); no
/// <c>NO_PROXY</c>. This steers every well-behaved HTTP client through the egress leg; it does not stop a hostile
/// process from opening sockets itself (that needs a network namespace or a firewall, outside a user-space edge).
/// </para>
/// </summary>
internal sealed partial class LaunchedServers(
    IOptions<EdgeOptions> options,
    ProxyCredentials proxyCredentials,
    EgressProxy proxy,
    EgressCertificateAuthority egressCa,
    ILogger<LaunchedServers> logger,
    TimeProvider time) : BackgroundService
{
    private static readonly string[] Inherited = ["PATH", "HOME", "LANG", "TZ"];
    private static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan ShortLived = TimeSpan.FromSeconds(30);

    private readonly ConcurrentDictionary<LaunchKey, Lazy<Task<StdioProcess>>> _processes = new();
    private readonly ConcurrentDictionary<LaunchKey, Backoff> _backoff = new();
    private readonly Lock _startLock = new();
    private string? _caFile;

    private sealed record Backoff(int Failures, DateTimeOffset NotBefore);

    /// <summary>The processes alive now (for tests and status).</summary>
    public IReadOnlyList<StdioProcess> Running =>
        [.. _processes.Values.Where(p => p.IsValueCreated && p.Value.IsCompletedSuccessfully && !p.Value.Result.HasExited).Select(p => p.Value.Result)];

    /// <summary>
    /// The process that serves <paramref name="workload"/>'s call of <paramref name="server"/> in
    /// <paramref name="generation"/>, started if there is none. Throws <see cref="LaunchException"/> when it cannot be had.
    /// </summary>
    public async Task<StdioProcess> AcquireAsync(McpServerDefinition server, SpiffeId workload, McpGeneration generation, CancellationToken cancellationToken)
    {
        var launch = server.Launch ?? throw new InvalidOperationException($"'{server.Name}' is not a launched server");
        var key = new LaunchKey(server.Name, server.Revision, generation, launch.PerWorkload ? workload : null);
        StopOlderRevisions(server);
        while (true)
        {
            Lazy<Task<StdioProcess>> entry;
            lock (_startLock)
            {
                if (!_processes.TryGetValue(key, out entry!))
                {
                    CheckBackoff(key);
                    MakeRoom();
                    entry = new Lazy<Task<StdioProcess>>(() => StartAsync(server, key));
                    _processes[key] = entry;
                }
            }
            StdioProcess process;
            try
            {
                process = await entry.Value.WaitAsync(cancellationToken);
            }
            catch (LaunchException)
            {
                _processes.TryRemove(new KeyValuePair<LaunchKey, Lazy<Task<StdioProcess>>>(key, entry));
                throw;
            }
            if (!process.HasExited)
            {
                return process;
            }
            // It died since: forget it (recording the failure) and start another, backoff permitting.
            Forget(key, entry, process);
        }
    }

    /// <summary>A server's definition changed or went away (an invalidation): its processes of older revisions stop now.</summary>
    public void OnServerChanged(string server, long revision)
    {
        foreach (var (key, entry) in _processes)
        {
            if (key.Server == server && key.Revision < revision && _processes.TryRemove(new KeyValuePair<LaunchKey, Lazy<Task<StdioProcess>>>(key, entry)))
            {
                _ = StopAsync(entry);
            }
        }
    }

    private void StopOlderRevisions(McpServerDefinition server) => OnServerChanged(server.Name, server.Revision);

    private void CheckBackoff(LaunchKey key)
    {
        if (_backoff.TryGetValue(key, out var backoff) && time.GetUtcNow() < backoff.NotBefore)
        {
            var wait = (backoff.NotBefore - time.GetUtcNow()).TotalSeconds;
            throw new LaunchException(ReasonCodes.LaunchFailed,
                $"'{key.Server}' exited {backoff.Failures} time(s) in a row; it is started again in {wait:0.#} s");
        }
    }

    private void Forget(LaunchKey key, Lazy<Task<StdioProcess>> entry, StdioProcess process)
    {
        if (!_processes.TryRemove(new KeyValuePair<LaunchKey, Lazy<Task<StdioProcess>>>(key, entry)))
        {
            return;
        }
        if (!process.StoppedByEdge)
        {
            // A run that lasted counts as the first failure again; short-lived runs in a row double the wait.
            RecordFailure(key, consecutive: time.GetUtcNow() - process.Started < ShortLived);
        }
        _ = process.DisposeAsync().AsTask();
    }

    /// <summary>At the process limit, the least recently used idle process makes room; with none idle the start is refused.</summary>
    private void MakeRoom()
    {
        var alive = _processes.Where(p => !(p.Value.IsValueCreated && p.Value.Value.IsCompleted && (p.Value.Value.IsFaulted || p.Value.Value.Result.HasExited))).ToList();
        if (alive.Count < options.Value.Launch.MaxProcesses)
        {
            return;
        }
        var idle = alive
            .Where(p => p.Value.IsValueCreated && p.Value.Value.IsCompletedSuccessfully && p.Value.Value.Result.IsIdle)
            .OrderBy(p => p.Value.Value.Result.LastUsed)
            .FirstOrDefault();
        if (idle.Value is null || !_processes.TryRemove(idle))
        {
            throw new LaunchException(ReasonCodes.LaunchFailed, $"this edge already runs {alive.Count} launched processes, all busy (Fabric:Edge:Launch:MaxProcesses)");
        }
        _ = StopAsync(idle.Value);
    }

    private async Task<StdioProcess> StartAsync(McpServerDefinition server, LaunchKey key)
    {
        var launch = server.Launch!;
        var command = ResolveCommand(launch.Command)
            ?? throw new LaunchException(ReasonCodes.LaunchFailed, $"'{launch.Command}' is not an executable on this edge");
        if (!IsPermitted(command))
        {
            throw new LaunchException(ReasonCodes.LaunchNotPermitted,
                $"this edge does not launch '{command}' (Fabric:Edge:Launch:AllowedCommands)");
        }
        var identity = server.Identity ?? throw new LaunchException(ReasonCodes.LaunchFailed, $"'{server.Name}' has no identity");
        var credential = proxyCredentials.Issue(identity);
        var start = new ProcessStartInfo(command)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardOutputEncoding = null,
            WorkingDirectory = launch.WorkingDirectory ?? Path.GetTempPath(),
        };
        foreach (var arg in launch.Args)
        {
            start.ArgumentList.Add(arg);
        }
        start.Environment.Clear();
        foreach (var (name, value) in EnvironmentFor(launch, credential))
        {
            start.Environment[name] = value;
        }
        StdioProcess process;
        try
        {
            process = await StdioProcess.StartAsync(start, key, server, proxyCredentials, credential, options.Value.MaxListResponseBytes,
                options.Value.Launch.StderrLinesPerWindow, options.Value.Launch.StartTimeout, logger, time, CancellationToken.None);
        }
        catch (LaunchException)
        {
            proxyCredentials.Revoke(credential.User);
            RecordFailure(key, consecutive: true);
            throw;
        }
        if (launch.PerWorkload)
        {
            // Every call of this process is its one agent's: its outbound calls are attributed exactly.
            credential.Attribute(key.Workload!, () => process.CurrentCall);
        }
        return process;
    }

    /// <summary>The next start of <paramref name="key"/> waits 1 s, doubling per consecutive failure, at most the configured backoff.</summary>
    private void RecordFailure(LaunchKey key, bool consecutive)
    {
        var failures = consecutive ? (_backoff.TryGetValue(key, out var previous) ? previous.Failures : 0) + 1 : 1;
        var delay = TimeSpan.FromSeconds(Math.Min(Math.Pow(2, failures - 1), options.Value.Launch.MaxRestartBackoff.TotalSeconds));
        _backoff[key] = new Backoff(failures, time.GetUtcNow() + delay);
    }

    /// <summary>The environment of a launched process: built from nothing (see the class remarks).</summary>
    internal IReadOnlyDictionary<string, string> EnvironmentFor(LaunchSpec launch, ProxyCredentials.Issued credential)
    {
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var name in Inherited)
        {
            if (Environment.GetEnvironmentVariable(name) is { Length: > 0 } value)
            {
                env[name] = value;
            }
        }
        foreach (var (name, value) in launch.Env)
        {
            env[name] = value;
        }
        if (proxy.Urls.FirstOrDefault(u => u.Scheme == Uri.UriSchemeHttp) is { } proxyUrl)
        {
            var url = new UriBuilder(proxyUrl) { UserName = credential.User, Password = credential.Password, Path = "" }.Uri.ToString().TrimEnd('/');
            foreach (var name in (string[])["HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY"])
            {
                env[name] = url;
                env[name.ToLowerInvariant()] = url;
            }
        }
        var caFile = EgressCaFile();
        env["SSL_CERT_FILE"] = caFile;
        env["SSL_CERT_DIR"] = Path.GetDirectoryName(caFile)!;
        env["NODE_EXTRA_CA_CERTS"] = caFile;
        env["REQUESTS_CA_BUNDLE"] = caFile;
        return env;
    }

    /// <summary>The egress CA certificate (public) in a directory of its own, so that a trust-store directory holds it alone.</summary>
    private string EgressCaFile()
    {
        if (_caFile is { } existing && File.Exists(existing))
        {
            return existing;
        }
        var directory = Path.Combine(Path.GetTempPath(), $"fabric-egress-ca-{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(directory);
        var file = Path.Combine(directory, "egress-ca.pem");
        File.WriteAllText(file, egressCa.CertificatePem);
        return _caFile = file;
    }

    /// <summary>An absolute path as given, or a bare name found on the edge's PATH; null when it is no executable file.</summary>
    internal static string? ResolveCommand(string command)
    {
        if (Path.IsPathFullyQualified(command))
        {
            return IsExecutable(command) ? command : null;
        }
        foreach (var directory in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(directory, command);
            if (Path.IsPathFullyQualified(candidate) && IsExecutable(candidate))
            {
                return candidate;
            }
        }
        return null;
    }

    private static bool IsExecutable(string path) =>
        File.Exists(path) && (OperatingSystem.IsWindows() || (File.GetUnixFileMode(path) & (UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute)) != 0);

    /// <summary>Whether <c>Fabric:Edge:Launch:AllowedCommands</c> permits the resolved <paramref name="command"/>.</summary>
    internal bool IsPermitted(string command)
    {
        var full = Path.GetFullPath(command);
        foreach (var allowed in options.Value.Launch.AllowedCommands.Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (allowed == "*"
                || (allowed.EndsWith('/') && Path.IsPathFullyQualified(allowed) && full.StartsWith(Path.GetFullPath(allowed), StringComparison.Ordinal))
                || (Path.IsPathFullyQualified(allowed) && string.Equals(Path.GetFullPath(allowed), full, StringComparison.Ordinal)))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>The idle sweep: a process nobody called for its server's idle timeout stops (once a second).</summary>
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1), time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                Sweep();
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    internal void Sweep()
    {
        var now = time.GetUtcNow();
        foreach (var (key, entry) in _processes)
        {
            if (!entry.IsValueCreated || !entry.Value.IsCompletedSuccessfully)
            {
                continue;
            }
            var process = entry.Value.Result;
            if (process.HasExited)
            {
                Forget(key, entry, process);
            }
            else if (process.IsIdle && now - process.LastUsed >= TimeSpan.FromSeconds(process.Server.Launch!.IdleTimeoutSeconds)
                && _processes.TryRemove(new KeyValuePair<LaunchKey, Lazy<Task<StdioProcess>>>(key, entry)))
            {
                LogIdle(logger, key.Server, process.ProcessId);
                _ = StopAsync(entry);
            }
        }
    }

    private static async Task StopAsync(Lazy<Task<StdioProcess>> entry)
    {
        try
        {
            var process = await entry.Value;
            await process.StopAsync(StopGrace);
            await process.DisposeAsync();
        }
        catch (LaunchException)
        {
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        var all = _processes.Values.ToList();
        _processes.Clear();
        await Task.WhenAll(all.Select(StopAsync));
        if (_caFile is { } file)
        {
            try
            {
                Directory.Delete(Path.GetDirectoryName(file)!, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    [LoggerMessage(EventId = 2610, Level = LogLevel.Information, Message = "Launched {Server} (process {Pid}) was idle past its timeout; stopped")]
    private static partial void LogIdle(ILogger logger, string server, int pid);
}
