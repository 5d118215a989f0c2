using Fabric.Contracts.Identity;

namespace Fabric.Contracts.Servers;

/// <summary>
/// Validates MCP server definitions. Field errors are keyed in camelCase JSON paths
/// (<c>name</c>, <c>upstream</c>, <c>identity</c>, <c>credential.source</c>, <c>credential.ref</c>,
/// <c>credential.inject</c>, <c>credential.inject.header</c>, <c>credential.inject.format</c>);
/// an empty dictionary means valid.
/// </summary>
public static partial class McpServerValidator
{
    public const int MaxNameLength = 63;
    public const int MaxUpstreamLength = 2048;
    public const int MaxSecretNameLength = 128;
    public const int MaxHeaderLength = 256;
    public const int MaxFormatLength = 1024;

    /// <summary>
    /// Headers a credential must not be spliced into: hop-by-hop and framing headers (RFC 9110
    /// §7.6.1, RFC 9112 §6-7) would corrupt or smuggle the forwarded message; MCP transport headers
    /// (streamable HTTP) belong to the agent's session; <c>Forwarded</c>/<c>Via</c> are the proxy's
    /// own; W3C trace context and baggage are copied into tracing backends, which would leak the
    /// secret. <c>Proxy-*</c> and <c>X-Forwarded-*</c> are rejected by prefix. <c>Cookie</c> stays
    /// allowed: cookie-authenticated upstreams are real, and the splicer replaces the agent's value.
    /// </summary>
    private static readonly HashSet<string> ForbiddenHeaders = new(StringComparer.OrdinalIgnoreCase)
    {
        "Host", "Content-Length", "Content-Type", "Content-Encoding", "Transfer-Encoding", "Connection",
        "Upgrade", "TE", "Trailer", "Keep-Alive", "Expect", "Forwarded", "Via",
        "Mcp-Session-Id", "MCP-Protocol-Version", "Mcp-Method", "Mcp-Name", "Last-Event-ID",
        "traceparent", "tracestate", "baggage",
    };

    private static readonly string[] ForbiddenHeaderPrefixes = ["Proxy-", "X-Forwarded-"];

    /// <param name="availableSources">The sources configured on this fabric; null skips that check.</param>
    /// <param name="allowLinkLocal">The silo's <c>Fabric:Servers:AllowLinkLocal</c>: permits link-local upstreams.</param>
    /// <param name="holdsStoredSecret">Whether a launched server's declared value holds a stored secret; null skips that check.</param>
    public static IReadOnlyDictionary<string, string[]> Validate(
        string? name, McpServerInput? input, IReadOnlyCollection<string>? availableSources = null, bool allowLinkLocal = false,
        Func<string, bool>? holdsStoredSecret = null)
    {
        var errors = new FieldErrors();

        errors.Add("name", ValidateName(name));
        if (input?.ToolLock is not (null or "off" or "trust-on-first-use" or "approve"))
        {
            errors.Add("toolLock", "toolLock must be 'trust-on-first-use' (the default), 'approve' or 'off'");
        }
        if (input is null)
        {
            errors.Add("upstream", "upstream (a URL) or launch (a local command) is required");
        }
        else if (input.Launch is { } launch)
        {
            ValidateLaunch(input, launch, holdsStoredSecret, errors.Add);
            if (input.OnReflection is not (null or "redact" or "block"))
            {
                errors.Add("onReflection", "onReflection must be 'redact' (mask the credential in answers, the default) or 'block' (refuse answers that carry it)");
            }
            if (input.Identity is not null)
            {
                errors.Add("identity", ValidateIdentity(input.Identity));
            }
        }
        else
        {
            errors.Add("upstream", UpstreamRules.Validate(input.Upstream, allowLinkLocal));
            if (input.Identity is not null)
            {
                errors.Add("identity", ValidateIdentity(input.Identity));
            }
            if (input.Credential is { } credential)
            {
                ValidateCredential(credential, availableSources, errors.Add);
            }
            if (input.AgentJwtAudience is not null)
            {
                ValidateAgentJwt(input, errors.Add);
            }
            if (input.OnReflection is not (null or "redact" or "block"))
            {
                errors.Add("onReflection", "onReflection must be 'redact' (mask the credential in answers, the default) or 'block' (refuse answers that carry it)");
            }
        }
        return errors.ToDictionary();
    }

    /// <summary>The same checks for the stored form, for grains that receive parsed values.</summary>
    public static IReadOnlyDictionary<string, string[]> Validate(
        string? name, Uri? upstream, string? identity, CredentialBinding? credential,
        IReadOnlyCollection<string>? availableSources = null, bool allowLinkLocal = false, string? agentJwtAudience = null,
        LaunchSpec? launch = null) =>
        Validate(name, new McpServerInput(
            launch is null ? upstream?.OriginalString : null,
            identity,
            credential is null ? null : CredentialBindingInput.From(credential),
            AgentJwtAudience: agentJwtAudience,
            Launch: launch is null ? null : LaunchInput.From(launch)),
            availableSources,
            allowLinkLocal);

    /// <summary>
    /// A server name is a route segment <c>[a-z0-9-]{1,63}</c> that also neither starts nor ends
    /// with '-' (a DNS label), so names read well in URLs, logs and host-style config. The edge uses
    /// this for its route check: a name that fails it cannot be registered, so it is a 404.
    /// </summary>
    public static bool IsValidName([NotNullWhen(true)] string? name) => ValidateName(name) is null;

    public static string? ValidateName(string? name)
    {
        if (string.IsNullOrEmpty(name))
        {
            return "name is required";
        }
        if (name.Length > MaxNameLength
            || !name.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-')
            || name[0] == '-' || name[^1] == '-')
        {
            return $"name must be 1-{MaxNameLength} characters of a-z, 0-9 and '-', not starting or ending with '-'";
        }
        return null;
    }

    /// <summary>
    /// A secret name (<c>credential.ref</c> of the local store, <c>/v1/secrets/{name}</c>):
    /// <c>[A-Za-z0-9._-]{1,128}</c>, and not <c>.</c> or <c>..</c>, which URL paths would collapse.
    /// </summary>
    public static string? ValidateSecretName(string? name)
    {
        if (string.IsNullOrEmpty(name))
        {
            return "a secret name is required";
        }
        if (name.Length > MaxSecretNameLength
            || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-'))
        {
            return $"a secret name is 1-{MaxSecretNameLength} characters of A-Z, a-z, 0-9, '.', '_' and '-'";
        }
        return name is "." or ".." ? "a secret name must not be '.' or '..'" : null;
    }

    public static bool IsValidSecretName([NotNullWhen(true)] string? name) => ValidateSecretName(name) is null;

    private static string? ValidateIdentity(string identity)
    {
        if (!SpiffeId.TryParse(identity, out var id, out var error))
        {
            return "identity must be the upstream's SPIFFE ID: " + error;
        }
        return id.IsWorkload ? null : "identity must be a workload SPIFFE ID (with a path), not a trust domain";
    }

    /// <summary>
    /// A server of a federated fabric behind its ingress edge: the audience is a SPIFFE ID of that fabric, the
    /// upstream is https and pinned to one of its edges (the only peer that may receive the agent's JWT-SVID),
    /// and there is no credential: the remote fabric splices its own, and none of this fabric's leaves it.
    /// </summary>
    private static void ValidateAgentJwt(McpServerInput input, Action<string, string?> add)
    {
        if (!SpiffeId.TryParse(input.AgentJwtAudience, out var audience, out var error) || !audience.IsWorkload)
        {
            add("agentJwtAudience", "agentJwtAudience must be the remote server's SPIFFE ID (with a path): " + (error ?? "no path"));
            return;
        }
        if (audience.IsReserved)
        {
            add("agentJwtAudience", "agentJwtAudience must name an MCP server, not a fabric component");
        }
        if (input.Identity is null || !SpiffeId.TryParse(input.Identity, out var edge, out _))
        {
            add("identity", "a server with agentJwtAudience must pin the remote fabric's ingress edge: identity spiffe://<its trust domain>/fabric/edge/<name>");
        }
        else if (!FabricNodes.Is(edge, audience.TrustDomain, FabricRole.Edge))
        {
            add("identity", $"identity must be an edge of '{audience.TrustDomain}' (spiffe://{audience.TrustDomain}/fabric/edge/<name>): the agent's JWT-SVID goes to nobody else");
        }
        if (input.Credential is not null)
        {
            add("credential", "a server with agentJwtAudience has no credential here: the remote fabric splices its own");
        }
        if (input.Upstream is { } upstream && !upstream.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
        {
            add("upstream", "a server with agentJwtAudience is reached over https (mTLS with this edge's SVID)");
        }
    }

    private static void ValidateCredential(CredentialBindingInput credential, IReadOnlyCollection<string>? availableSources, Action<string, string?> add)
    {
        var source = credential.Source;
        add("credential.source", source switch
        {
            null or "" => "source is required",
            CredentialSources.Local or CredentialSources.VaultKv or CredentialSources.VaultDynamic or CredentialSources.AzureKeyVault =>
                availableSources is null || availableSources.Contains(source)
                    ? null
                    : $"source '{source}' is not configured on this fabric (see Fabric:Secrets in the README)",
            _ => "source must be one of 'local', 'vault-kv', 'vault-dynamic', 'azure-keyvault'",
        });
        // Each source names its secret its own way; a reference meant for another source is an
        // error, not silently ignored, so a typo cannot bind the wrong secret.
        var uses = source switch
        {
            CredentialSources.Local => new[] { "ref" },
            CredentialSources.VaultKv => ["mount", "path", "field", "version"],
            CredentialSources.VaultDynamic => ["path", "field"],
            CredentialSources.AzureKeyVault => ["name", "version"],
            _ => [],
        };
        void Reference(string field, string? value, Func<string, string?> validate, bool required)
        {
            var key = "credential." + field;
            if (!uses.Contains(field))
            {
                add(key, value is null || uses.Length == 0 ? null : $"'{field}' is not used by source '{source}'");
                return;
            }
            add(key, value is null ? (required ? $"{field} is required for source '{source}'" : null) : validate(value));
        }
        Reference("ref", credential.Ref, v => ValidateSecretName(v), required: true);
        Reference("mount", credential.Mount, v => ValidateVaultPath(v, "mount"), required: true);
        Reference("path", credential.Path, v => ValidateVaultPath(v, "path"), required: true);
        Reference("field", credential.Field, ValidateField, required: true);
        Reference("name", credential.Name, ValidateKeyVaultName, required: true);
        Reference("version", credential.Version, v => source == CredentialSources.VaultKv ? ValidateKvVersion(v) : ValidateKeyVaultVersion(v), required: false);
        if (credential.Inject is not { } inject)
        {
            add("credential.inject", "inject is required: a header and a format, e.g. Authorization / Bearer {secret}");
            return;
        }
        add("credential.inject.header", ValidateHeader(inject.Header));
        add("credential.inject.format", ValidateFormat(inject.Format));
    }

    /// <summary>Vault mounts and paths: segments of <c>[A-Za-z0-9._-]</c> joined by '/', no '.'/'..' segments.</summary>
    private static string? ValidateVaultPath(string value, string what)
    {
        var segments = value.Split('/');
        return value.Length is 0 or > 512
            || segments.Any(segment => segment.Length == 0 || segment is "." or ".."
                || !segment.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-'))
            ? $"{what} is 1-512 characters of path segments [A-Za-z0-9._-] separated by '/'"
            : null;
    }

    private static string? ValidateField(string value) =>
        value.Length is > 0 and <= 128 && value.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-')
            ? null
            : "field is 1-128 characters of [A-Za-z0-9._-]";

    private static string? ValidateKvVersion(string value) =>
        int.TryParse(value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var version) && version > 0
            ? null
            : "version of a KV v2 secret is a positive integer";

    /// <summary>Key Vault object names: 1-127 characters of [0-9a-zA-Z-].</summary>
    private static string? ValidateKeyVaultName(string value) =>
        value.Length is > 0 and <= 127 && value.All(c => char.IsAsciiLetterOrDigit(c) || c == '-')
            ? null
            : "name is 1-127 characters of [0-9a-zA-Z-] (a Key Vault secret name)";

    /// <summary>Key Vault versions are 32 hex characters.</summary>
    private static string? ValidateKeyVaultVersion(string value) =>
        value.Length == 32 && value.All(char.IsAsciiHexDigit) ? null : "version of a Key Vault secret is 32 hexadecimal characters";

    private static string? ValidateHeader(string? header)
    {
        if (string.IsNullOrEmpty(header))
        {
            return "header is required";
        }
        if (header.Length > MaxHeaderLength || !header.All(IsTokenChar))
        {
            return $"header must be an HTTP field name of at most {MaxHeaderLength} token characters (RFC 9110 §5.1)";
        }
        if (ForbiddenHeaders.Contains(header)
            || ForbiddenHeaderPrefixes.Any(p => header.StartsWith(p, StringComparison.OrdinalIgnoreCase)))
        {
            return $"'{header}' cannot carry a credential: it is a hop-by-hop, framing, proxy, MCP transport or tracing header";
        }
        return null;
    }

    private static string? ValidateFormat(string? format)
    {
        if (string.IsNullOrEmpty(format))
        {
            return "format is required, e.g. 'Bearer {secret}'";
        }
        if (format.Length > MaxFormatLength)
        {
            return $"format is at most {MaxFormatLength} characters";
        }
        if (format.Any(c => c is '\r' or '\n' or '\0'))
        {
            return "format must not contain CR, LF or NUL";
        }
        // RFC 9110 §5.5 field values: visible ASCII, space and tab (obs-text is not worth the risk).
        if (format.Any(c => c != '\t' && (c < ' ' || c > '~')))
        {
            return "format must be printable ASCII";
        }
        var first = format.IndexOf(InjectSpec.Placeholder, StringComparison.Ordinal);
        if (first < 0 || format.IndexOf(InjectSpec.Placeholder, first + 1, StringComparison.Ordinal) >= 0)
        {
            return "format must contain {secret} exactly once";
        }
        return null;
    }

    /// <summary>RFC 9110 §5.6.2 tchar.</summary>
    private static bool IsTokenChar(char c) =>
        char.IsAsciiLetterOrDigit(c) || c is '!' or '#' or '$' or '%' or '&' or '\'' or '*' or '+' or '-'
            or '.' or '^' or '_' or '`' or '|' or '~';
}
