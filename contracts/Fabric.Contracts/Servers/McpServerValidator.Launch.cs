using Fabric.Contracts.Identity;

namespace Fabric.Contracts.Servers;

/// <summary>Launched (stdio) servers: <c>launch</c> instead of <c>upstream</c> in <c>PUT /v1/servers/{name}</c>.</summary>
public static partial class McpServerValidator
{
    [System.Text.RegularExpressions.GeneratedRegex("fabric:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")]
    private static partial System.Text.RegularExpressions.Regex Placeholders();

    public const int MaxLaunchArgs = 64;
    public const int MaxLaunchValueLength = 4096;
    public const int MaxLaunchEnv = 64;
    public const int MaxIdleTimeoutSeconds = 86_400;

    /// <summary>
    /// Variables the edge sets itself (the egress proxy and its CA, the inherited basics) or that change what a process
    /// loads or trusts: a declared <c>env</c> may not name them, in any case (proxy variables are read in both).
    /// </summary>
    private static readonly HashSet<string> ReservedEnv = new(StringComparer.OrdinalIgnoreCase)
    {
        "PATH", "HOME", "LANG", "TZ",
        "HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY", "SSL_CERT_FILE", "SSL_CERT_DIR", "NODE_EXTRA_CA_CERTS",
        "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "NODE_TLS_REJECT_UNAUTHORIZED", "NODE_OPTIONS", "PYTHONHTTPSVERIFY",
        "GIT_SSL_NO_VERIFY", "LD_PRELOAD", "LD_LIBRARY_PATH", "LD_AUDIT", "DOTNET_STARTUP_HOOKS", "DOTNET_SSL_CERT_FILE",
        "BASH_ENV", "ENV", "PYTHONSTARTUP", "PYTHONPATH", "PERL5OPT", "RUBYOPT", "JAVA_TOOL_OPTIONS",
    };

    private static readonly string[] ReservedEnvPrefixes = ["FABRIC_", "DOTNET_", "COREHOST_"];

    /// <summary>
    /// A launched server: a command (an absolute path, or a bare name the edge finds on its PATH) and its arguments; a
    /// declared environment of non-secret configuration (a value that is a stored secret or looks like a key is refused:
    /// keys belong to egress targets, where the edge splices them, and a server that insists on one gets the
    /// placeholder <c>fabric:&lt;target&gt;</c>); an identity (the process's SPIFFE ID: its subject on the egress leg);
    /// no upstream, no credential (nothing is spliced into stdio), no agentJwtAudience.
    /// </summary>
    /// <param name="holdsStoredSecret">Whether a value holds a secret of the local store; null skips that check (grains).</param>
    private static void ValidateLaunch(McpServerInput input, LaunchInput launch, Func<string, bool>? holdsStoredSecret, Action<string, string?> add)
    {
        if (input.Upstream is not null)
        {
            add("upstream", "a server has either an upstream or a launch spec, not both");
        }
        if (input.Identity is null)
        {
            add("identity", "a launched server needs identity: the SPIFFE ID it has on the egress leg (spiffe://<td>/mcp/<name>)");
        }
        else if (SpiffeId.TryParse(input.Identity, out var id, out _) && id.IsReserved)
        {
            add("identity", "a launched server's identity must not be one of the fabric's own /fabric/ IDs");
        }
        if (input.Credential is not null)
        {
            add("credential", "a launched server gets no credential (nothing is spliced into stdio): bind it to an egress target, where the edge splices it into the server's outbound calls");
        }
        if (input.AgentJwtAudience is not null)
        {
            add("agentJwtAudience", "a launched server is local to the edge, not a server of another fabric");
        }

        add("launch.command", launch.Command is not { Length: > 0 and <= 1024 } command || command.Any(char.IsControl)
            ? "command is 1-1024 characters without control characters: an absolute path, or a name on the edge's PATH"
            : command.Contains('/') && !Path.IsPathFullyQualified(command) ? "command is an absolute path or a bare name (no relative paths)" : null);
        if (launch.Args is { } args)
        {
            add("launch.args", args.Length > MaxLaunchArgs ? $"at most {MaxLaunchArgs} arguments" : null);
            for (var i = 0; i < args.Length && i < MaxLaunchArgs; i++)
            {
                add($"launch.args[{i}]", args[i] is null || args[i].Length > MaxLaunchValueLength || args[i].Contains('\0')
                    ? $"an argument is a string of at most {MaxLaunchValueLength} characters without NUL"
                    : SecretShapes.Describe(args[i]) is { } why ? $"an argument must not carry a secret: {why}" : null);
            }
        }
        if (launch.Env is { } env)
        {
            add("launch.env", env.Count > MaxLaunchEnv ? $"at most {MaxLaunchEnv} variables" : null);
            foreach (var (key, value) in env.Take(MaxLaunchEnv))
            {
                add($"launch.env.{key}", ValidateEnv(key, value, holdsStoredSecret));
            }
        }
        add("launch.workingDirectory", launch.WorkingDirectory is { } directory
            && (directory.Length is 0 or > 1024 || directory.Any(char.IsControl) || !Path.IsPathFullyQualified(directory))
            ? "workingDirectory is an absolute path (at most 1024 characters)"
            : null);
        add("launch.idleTimeoutSeconds", launch.IdleTimeoutSeconds is < 1 or > MaxIdleTimeoutSeconds
            ? $"idleTimeoutSeconds is 1-{MaxIdleTimeoutSeconds} (default {LaunchSpec.DefaultIdleTimeoutSeconds})"
            : null);
    }

    private static string? ValidateEnv(string key, string? value, Func<string, bool>? holdsStoredSecret)
    {
        if (key.Length is 0 or > 128 || !(char.IsAsciiLetter(key[0]) || key[0] == '_') || !key.All(c => char.IsAsciiLetterOrDigit(c) || c == '_'))
        {
            return "a variable name is 1-128 characters of [A-Za-z0-9_], not starting with a digit";
        }
        if (ReservedEnv.Contains(key) || ReservedEnvPrefixes.Any(p => key.StartsWith(p, StringComparison.OrdinalIgnoreCase)))
        {
            return $"'{key}' is set by the edge or changes what the process loads or trusts; it cannot be declared";
        }
        if (value is null || value.Length > MaxLaunchValueLength || value.Contains('\0'))
        {
            return $"a value is a string of at most {MaxLaunchValueLength} characters without NUL";
        }
        if (holdsStoredSecret?.Invoke(value) == true)
        {
            return "the value holds a stored secret: keys belong to egress targets (use the placeholder fabric:<target>)";
        }
        // Placeholders (fabric:<target>) are what belongs here; a target's name may be random-looking itself.
        return SecretShapes.Describe(Placeholders().Replace(value, "fabric:target")) is { } why
            ? $"the value looks like a key ({why}): keys belong to egress targets (use the placeholder fabric:<target>)"
            : null;
    }
}
