using System.Buffers;
using System.Buffers.Text;
using System.Text;
using Fabric.Contracts.Policy;

namespace Fabric.Edge.Mcp;

/// <summary>
/// MCP's HTTP headers, and the 2026-07-28 rule that mirrored headers agree with the body
/// (Streamable HTTP, "Request Metadata" and "Server Validation"). The edge decides on the body; a
/// header that says something else is refused so that no hop (load balancer, the upstream, the audit)
/// can act on a different story than the one the edge decided on.
/// </summary>
internal static class McpHeaders
{
    /// <summary>Session id, 2025-03-26 … 2025-11-25 only ("Session Management").</summary>
    public const string SessionId = "Mcp-Session-Id";
    public const string ProtocolVersion = "MCP-Protocol-Version";
    /// <summary>Mirrors <c>method</c>; required on every request from 2026-07-28.</summary>
    public const string Method = "Mcp-Method";
    /// <summary>Mirrors <c>params.name</c> (tools/call, prompts/get) or <c>params.uri</c> (resources/read); may be Base64-sentinel encoded.</summary>
    public const string Name = "Mcp-Name";
    /// <summary>SSE resumption, 2025-x sessions only (ignored from 2026-07-28).</summary>
    public const string LastEventId = "Last-Event-ID";

    /// <summary>The first revision whose requests mirror method and name into headers.</summary>
    public const string FirstHeaderMirroringVersion = "2026-07-28";

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>
    /// Checks the mirrored headers against <paramref name="message"/>. Returns null when consistent, else a
    /// message for a 400 reply with JSON-RPC code <see cref="JsonRpcErrors.HeaderMismatch"/> (-32020).
    /// </summary>
    public static string? CheckConsistency(IHeaderDictionary headers, McpMessage message)
    {
        ArgumentNullException.ThrowIfNull(headers);
        ArgumentNullException.ThrowIfNull(message);

        var versionHeader = headers[ProtocolVersion];
        var methodHeader = headers[Method];
        var nameHeader = headers[Name];
        if (versionHeader.Count > 1 || methodHeader.Count > 1 || nameHeader.Count > 1)
        {
            // Two copies of a mirrored header leave it to each hop which one counts.
            return "Header mismatch: MCP headers must not be repeated";
        }

        var version = versionHeader.Count == 1 ? versionHeader[0] : null;
        var mirroring = version is not null && RequiresMirroring(version);

        if (methodHeader.Count == 1)
        {
            // "Header values (such as method names) are case-sensitive" (Request Metadata, Case Sensitivity).
            if (!message.IsRequestOrNotification || !string.Equals(methodHeader[0], message.Method, StringComparison.Ordinal))
            {
                return $"Header mismatch: {Method} header value '{methodHeader[0]}' does not match body value '{message.Method}'";
            }
        }
        else if (mirroring && message.IsRequestOrNotification)
        {
            // 2026-07-28 "Standard Request Headers": Mcp-Method is required; the SDK server answers -32020
            // "Missing required Mcp-Method header." for requests and notifications alike.
            return $"Header mismatch: missing required {Method} header";
        }

        if (nameHeader.Count == 1)
        {
            var decoded = DecodeName(nameHeader[0] ?? string.Empty);
            if (decoded is null)
            {
                return $"Header mismatch: {Name} header contains invalid Base64 encoding";
            }

            if (message.Name is null || !string.Equals(decoded, message.Name, StringComparison.Ordinal))
            {
                return $"Header mismatch: {Name} header value '{nameHeader[0]}' does not match body value '{message.Name}'";
            }
        }
        else if (mirroring && message.Kind == McpMessageKind.Request && CarriesName(message.Method))
        {
            return $"Header mismatch: missing required {Name} header";
        }

        // "The header value MUST match the io.modelcontextprotocol/protocolVersion field carried in the
        // request body's _meta" (Protocol Version Header).
        if (version is not null && message.MetaProtocolVersion is { } metaVersion && !string.Equals(version, metaVersion, StringComparison.Ordinal))
        {
            return $"Header mismatch: {ProtocolVersion} header value '{version}' does not match body value '{metaVersion}'";
        }

        return null;
    }

    /// <summary>
    /// The methods whose requests carry <c>Mcp-Name</c> (2026-07-28 "Standard Request Headers" table:
    /// <c>tools/call</c>, <c>resources/read</c>, <c>prompts/get</c>). resources/subscribe|unsubscribe do not
    /// exist in that revision (replaced by subscriptions/listen), so a header there is only compared, never required.
    /// </summary>
    public static bool CarriesName(string? method) =>
        method is McpMethods.ToolsCall or McpMethods.ResourcesRead or McpMethods.PromptsGet;

    /// <summary>
    /// True when <paramref name="version"/> is 2026-07-28 or later. Versions are <c>YYYY-MM-DD</c> strings
    /// that sort lexically; anything that is not a date (a draft tag) is treated as modern, the stricter side.
    /// </summary>
    public static bool RequiresMirroring(string version)
    {
        ArgumentNullException.ThrowIfNull(version);
        return !IsDate(version) || string.CompareOrdinal(version, FirstHeaderMirroringVersion) >= 0;
    }

    /// <summary>
    /// Decodes an <c>Mcp-Name</c> value: plain, or <c>=?base64?{Base64(UTF-8)}?=</c> when the name is not a
    /// safe ASCII header value (2026-07-28 "Value Encoding"; markers are case-sensitive). Null if the
    /// sentinel wraps invalid Base64 or invalid UTF-8.
    /// </summary>
    public static string? DecodeName(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        const string Prefix = "=?base64?";
        const string Suffix = "?=";
        if (value.Length < Prefix.Length + Suffix.Length
            || !value.StartsWith(Prefix, StringComparison.Ordinal)
            || !value.EndsWith(Suffix, StringComparison.Ordinal))
        {
            return value;
        }

        var encoded = value.AsSpan(Prefix.Length, value.Length - Prefix.Length - Suffix.Length);
        var rented = ArrayPool<byte>.Shared.Rent(Base64.GetMaxDecodedFromUtf8Length(encoded.Length));
        try
        {
            if (!Convert.TryFromBase64Chars(encoded, rented, out var written))
            {
                return null;
            }

            return StrictUtf8.GetString(rented, 0, written);
        }
        catch (DecoderFallbackException)
        {
            return null;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>The prefix of the headers a 2026-07-28 client mirrors tool arguments into (<c>x-mcp-header</c>).</summary>
    public const string ParamPrefix = "Mcp-Param-";

    public static bool HasParamHeaders(IHeaderDictionary headers)
    {
        foreach (var name in headers.Keys)
        {
            if (name.StartsWith(ParamPrefix, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>
    /// Checks every <c>Mcp-Param-{Name}</c> header of a <c>tools/call</c> against the argument the tool's approved
    /// definition mirrors into it (<paramref name="declared"/>: header suffix, lower case → argument): equal after
    /// decoding the Base64 sentinel form, or a mismatch message (400, -32020). A header the definition does not declare
    /// is forwarded unchecked, as the transport requires of intermediaries.
    /// </summary>
    public static string? CheckParamHeaders(IHeaderDictionary headers, McpMessage message, IReadOnlyDictionary<string, string>? declared)
    {
        if (message.Method != McpMethods.ToolsCall || declared is null)
        {
            return null;
        }
        foreach (var (name, values) in headers)
        {
            if (!name.StartsWith(ParamPrefix, StringComparison.OrdinalIgnoreCase)
                || !declared.TryGetValue(name[ParamPrefix.Length..].ToLowerInvariant(), out var argument))
            {
                continue;
            }
            if (values.Count != 1 || argument.Length == 0)
            {
                return $"Header mismatch: {name} must be sent once, for an argument the tool declares once";
            }
            var decoded = DecodeName(values[0] ?? "");
            if (decoded is null)
            {
                return $"Header mismatch: {name} header contains invalid Base64 encoding";
            }
            if (message.Arguments is not { } arguments || !arguments.TryGetValue(argument, out var body) || !string.Equals(decoded, body, StringComparison.Ordinal))
            {
                return $"Header mismatch: {name} header value does not match the body's argument '{argument}'";
            }
        }
        return null;
    }

    private static bool IsDate(string version) =>
        version.Length == 10 && version[4] == '-' && version[7] == '-'
        && char.IsAsciiDigit(version[0]) && char.IsAsciiDigit(version[1]) && char.IsAsciiDigit(version[2]) && char.IsAsciiDigit(version[3])
        && char.IsAsciiDigit(version[5]) && char.IsAsciiDigit(version[6]) && char.IsAsciiDigit(version[8]) && char.IsAsciiDigit(version[9]);
}
