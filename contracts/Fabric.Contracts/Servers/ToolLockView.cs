using System.Collections.Immutable;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Fabric.Contracts.Servers;

/// <summary>
/// What an edge needs to hold a server's lists to their approved definitions: the mode, per list the approved
/// digests by name, whether the list was ever seen (trust on first use approves what it sees first), the names
/// whose latest seen definition is not the approved one (changed, or new since the approval), and the tool annotations
/// the operator attested (which rules on annotations match, in every mode, <see cref="ToolLockMode.Off"/> included).
/// </summary>
[GenerateSerializer, Immutable, Alias("fabric.tool-lock-view")]
public sealed record ToolLockView(
    [property: Id(0)] ToolLockMode Mode,
    [property: Id(1)] ImmutableDictionary<LockedList, ImmutableDictionary<string, string>> Approved,
    [property: Id(2)] ImmutableDictionary<LockedList, ImmutableHashSet<string>> Held,
    [property: Id(3)] long Version,
    [property: Id(4)] ImmutableDictionary<string, ImmutableDictionary<string, string>>? ParamHeaders = null,
    [property: Id(5)] ImmutableDictionary<string, Policy.ToolAnnotations>? Attested = null,
    [property: Id(6)] ImmutableHashSet<LockedList>? Signalled = null)
{
    /// <summary>
    /// Whether the server said <paramref name="list"/> changed (<c>list_changed</c>, seen by any edge) and no edge has
    /// reported the new list since: calls to its items are held on every edge, since nobody knows which item changed.
    /// </summary>
    public bool IsSignalled(LockedList list) => Mode != ToolLockMode.Off && Signalled?.Contains(list) == true;

    public static readonly ToolLockView Unlocked = new(ToolLockMode.Off, ImmutableDictionary<LockedList, ImmutableDictionary<string, string>>.Empty,
        ImmutableDictionary<LockedList, ImmutableHashSet<string>>.Empty, 0);

    /// <summary>What the operator attested about <paramref name="tool"/>'s annotations (issue 12 §2), or null when nothing.</summary>
    public Policy.ToolAnnotations? AttestedOf(string tool) => Attested?.GetValueOrDefault(tool);

    /// <summary>
    /// The approved tool's <c>x-mcp-header</c> declarations (2026-07-28 "Custom Headers from Tool Parameters"): header
    /// name suffix (lower case) → the argument it mirrors, or null when the tool declares none (or is not approved).
    /// </summary>
    public ImmutableDictionary<string, string>? ParamHeadersOf(string tool) => ParamHeaders?.GetValueOrDefault(tool);

    /// <summary>The <c>x-mcp-header</c> declarations of a tool's canonical definition: top-level primitive properties of its inputSchema.</summary>
    public static ImmutableDictionary<string, string> ParamHeadersIn(string canonical)
    {
        var map = ImmutableDictionary.CreateBuilder<string, string>(StringComparer.Ordinal);
        using var document = JsonDocument.Parse(canonical);
        if (document.RootElement.TryGetProperty("inputSchema", out var schema) && schema.ValueKind == JsonValueKind.Object
            && schema.TryGetProperty("properties", out var properties) && properties.ValueKind == JsonValueKind.Object)
        {
            foreach (var property in properties.EnumerateObject())
            {
                if (property.Value.ValueKind == JsonValueKind.Object && property.Value.TryGetProperty("x-mcp-header", out var header)
                    && header.ValueKind == JsonValueKind.String && header.GetString() is { Length: > 0 } name)
                {
                    // Case-insensitively unique by the spec; a tool naming one twice keeps neither (which would count?).
                    var key = name.ToLowerInvariant();
                    if (!map.TryAdd(key, property.Name))
                    {
                        map[key] = "";
                    }
                }
            }
        }
        return map.ToImmutable();
    }

    /// <summary>Whether an item of a list answer, as seen now, may reach the agent.</summary>
    public bool Shows(LockedList list, string name, string digest)
    {
        if (Mode == ToolLockMode.Off)
        {
            return true;
        }
        if (Approved.TryGetValue(list, out var approved))
        {
            return approved.TryGetValue(name, out var expected) && expected == digest;
        }
        // Never seen: trust on first use shows (and the edge reports it, which approves it); approve mode shows nothing.
        return Mode == ToolLockMode.TrustOnFirstUse;
    }

    /// <summary>
    /// Whether a <c>resources/read</c> of <paramref name="uri"/> is held back: it could be served by a resource template
    /// whose latest definition is not the approved one. Each template's expressions (<c>{name}</c>, <c>{+path}</c>,
    /// <c>{?q}</c>) match any text, so a URI that any held template could produce is held (failing closed when templates
    /// overlap).
    /// </summary>
    public bool HoldsResource(string uri)
    {
        if (Mode == ToolLockMode.Off || !Held.TryGetValue(LockedList.ResourceTemplates, out var held) || held.IsEmpty)
        {
            return false;
        }
        // The templates are the upstream's: matching is bounded, and past the bound every read is held (failing closed).
        if (held.Count > MaxMatchedTemplates || uri.Length > MaxMatchedUri || held.Any(t => t.Length > MaxMatchedTemplate))
        {
            return true;
        }
        foreach (var template in held)
        {
            if (Policy.Glob.IsMatch(TemplateGlob(template), uri))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>Past any of these bounds a held template set holds every read instead of being matched (glob cost is O(template × URI)).</summary>
    public const int MaxMatchedTemplates = 64;
    public const int MaxMatchedTemplate = 1024;
    public const int MaxMatchedUri = 8192;

    /// <summary>An RFC 6570 URI template as a glob: each <c>{…}</c> expression becomes <c>*</c> (an unclosed one swallows the rest).</summary>
    internal static string TemplateGlob(string template)
    {
        var glob = new StringBuilder(template.Length);
        for (var i = 0; i < template.Length; i++)
        {
            if (template[i] != '{')
            {
                glob.Append(template[i]);
                continue;
            }
            var end = template.IndexOf('}', i + 1);
            glob.Append('*');
            if (end < 0)
            {
                break;
            }
            i = end;
        }
        return glob.ToString();
    }

    /// <summary>Whether a call naming <paramref name="name"/> (a tool, a prompt) may go on: not held back, and approved or unseen under trust on first use.</summary>
    public bool Admits(LockedList list, string name)
    {
        if (Mode == ToolLockMode.Off)
        {
            return true;
        }
        if (Held.TryGetValue(list, out var held) && held.Contains(name))
        {
            return false;
        }
        return (Approved.TryGetValue(list, out var approved) && approved.ContainsKey(name)) || Mode == ToolLockMode.TrustOnFirstUse;
    }
}
