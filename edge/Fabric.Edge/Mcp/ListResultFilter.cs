using System.Buffers;
using System.Text.Json;
using Fabric.Contracts.Policy;

namespace Fabric.Edge.Mcp;

/// <summary>Whether one item of a list answer may reach the agent: its list's property, kind, name and JSON bytes.</summary>
internal delegate bool ListItemFilter(string list, McpCallKind kind, string name, ReadOnlySpan<byte> item);

/// <summary>What filtering a list response did, for logs and audit.</summary>
internal readonly record struct ListFilterStats(int Kept, int Removed, bool Malformed, bool Refused = false)
{
    public bool Changed => Removed > 0 || Malformed;

    public static ListFilterStats Refusal => new(0, 0, Malformed: true, Refused: true);
}

/// <summary>
/// Filters a buffered upstream answer to <c>tools/list</c>, <c>resources/list</c>,
/// <c>resources/templates/list</c> or <c>prompts/list</c> down to the items the caller may use:
/// <c>result.tools[*].name</c>, <c>result.resources[*].uri</c>, <c>result.resourceTemplates[*].uriTemplate</c>,
/// <c>result.prompts[*].name</c> (the table in <see cref="McpMethods.ListFilterFor"/>).
/// <code>
///   application/json   {… "result":{"tools":[ a , b , c ], "nextCursor":…} …}
///   text/event-stream  event: message⏎ id: 7⏎ data: {…}⏎ ⏎        (each event's data parsed alone)
///                                           │
///                           dropped items are cut out with their separator; every other byte is copied
/// </code>
/// <c>server/discover</c> (2026-07-28) needs no filtering: its result is supportedVersions, capabilities,
/// instructions and cache hints, and lists no tools, resources or prompts (schema.ts <c>DiscoverResult</c>).
/// Fail closed: an item without a string name is dropped, a list member that is not an array becomes
/// <c>[]</c>; an answer that is neither JSON nor SSE, or whose JSON (or any SSE event's data) does not parse, is
/// <see cref="ListFilterStats.Refused"/>: nothing of it may reach the agent (the edge answers 502). Lists are
/// filtered in every message of the answer, in <c>result</c> and in <c>params</c> (a notification or a server
/// request that carries a <c>tools</c> array is no less readable to a client than the result).
/// </summary>
internal static partial class ListResultFilter
{
    private static readonly (string Property, McpCallKind Kind, string NameProperty)[] Lists =
    [
        ("tools", McpCallKind.Tool, "name"),
        ("resources", McpCallKind.Resource, "uri"),
        ("resourceTemplates", McpCallKind.Resource, "uriTemplate"),
        ("prompts", McpCallKind.Prompt, "name"),
    ];

    private static readonly JsonReaderOptions ReaderOptions = new() { MaxDepth = 128 };

    /// <summary>
    /// Filters <paramref name="response"/> into <paramref name="output"/>. Every JSON-RPC response in the body
    /// that carries a <c>result</c> is filtered, not only the one that answers the list request: in the answer to a
    /// list request there is no other legitimate response, and one with a foreign id is the very thing that must
    /// not slip through unfiltered.
    /// </summary>
    public static ListFilterStats Filter(
        ReadOnlySpan<byte> response, string? contentType, Func<McpCallKind, string, bool> isVisible, IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(isVisible);
        return Filter(response, contentType, (_, kind, name, _) => isVisible(kind, name), output);
    }

    /// <summary>The same, deciding on each item whole: its list (<c>tools</c>, <c>prompts</c>, …), kind, name and JSON bytes.</summary>
    public static ListFilterStats Filter(
        ReadOnlySpan<byte> response, string? contentType, ListItemFilter isVisible, IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(isVisible);
        ArgumentNullException.ThrowIfNull(output);
        try
        {
            var counts = new Counts();
            switch (MediaTypeOf(contentType))
            {
                case MediaType.Json:
                    if (!IsValidJson(response))
                    {
                        // Nothing the client could parse as a list may pass unfiltered.
                        return ListFilterStats.Refusal;
                    }

                    RewriteMessage(response, isVisible, output, ref counts);
                    break;
                case MediaType.EventStream:
                    if (!SseFilter.Filter(response, isVisible, output, ref counts))
                    {
                        return ListFilterStats.Refusal;
                    }
                    break;
                default:
                    // Neither JSON nor SSE (Streamable HTTP, "Sending Messages": a request is answered with exactly one of
                    // these two types). A lenient client might still parse it as JSON, so it is never passed on.
                    return ListFilterStats.Refusal;
            }

            return new ListFilterStats(counts.Kept, counts.Removed, counts.Malformed);
        }
        catch (InvalidOperationException)
        {
            // A name that is valid JSON yet does not decode (a lone surrogate escape): what would a client show? Refused.
            return ListFilterStats.Refusal;
        }
    }

    /// <summary>Convenience form returning the filtered bytes.</summary>
    public static byte[] Filter(ReadOnlySpan<byte> response, string? contentType, Func<McpCallKind, string, bool> isVisible)
    {
        var output = new ArrayBufferWriter<byte>(Math.Max(response.Length, 256));
        Filter(response, contentType, isVisible, output);
        return output.WrittenSpan.ToArray();
    }

    private enum MediaType { Other, Json, EventStream }

    private static MediaType MediaTypeOf(string? contentType)
    {
        if (contentType is null)
        {
            return MediaType.Other;
        }

        var span = contentType.AsSpan();
        var semicolon = span.IndexOf(';');
        var type = (semicolon >= 0 ? span[..semicolon] : span).Trim();
        if (type.Equals("text/event-stream", StringComparison.OrdinalIgnoreCase))
        {
            return MediaType.EventStream;
        }

        return type.Equals("application/json", StringComparison.OrdinalIgnoreCase)
            || type.EndsWith("+json", StringComparison.OrdinalIgnoreCase) ? MediaType.Json : MediaType.Other;
    }

    /// <summary>A full validating pass first, so the rewriting pass never stops half-way through its output.</summary>
    internal static bool IsValidJson(ReadOnlySpan<byte> json)
    {
        // RFC 8259 §8.1 (UTF-8 only): a name the filter could not decode may decode to anything in a lenient client.
        if (!System.Text.Unicode.Utf8.IsValid(json))
        {
            return false;
        }
        try
        {
            var reader = new Utf8JsonReader(json, ReaderOptions);
            if (!reader.Read())
            {
                return false;
            }

            reader.Skip();
            return !reader.Read();
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>
    /// Copies one valid JSON message to <paramref name="output"/>, cutting invisible items out of the
    /// list arrays of its <c>result</c>. Bytes outside the cuts are copied unchanged.
    /// </summary>
    internal static void RewriteMessage(ReadOnlySpan<byte> json, ListItemFilter isVisible, IBufferWriter<byte> output, ref Counts counts)
    {
        var copy = new Copier(json, output);
        var reader = new Utf8JsonReader(json, ReaderOptions);
        reader.Read();
        if (reader.TokenType == JsonTokenType.StartObject)
        {
            RewriteObject(ref reader, ref copy, isVisible, ref counts);
        }
        else if (reader.TokenType == JsonTokenType.StartArray)
        {
            // A batch of responses: gone since 2025-06-18, but a 2025-03-26 client still reads one, so an
            // upstream must not get a list past the filter by wrapping it in an array.
            while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
            {
                if (reader.TokenType == JsonTokenType.StartObject)
                {
                    RewriteObject(ref reader, ref copy, isVisible, ref counts);
                }
                else
                {
                    reader.Skip();
                }
            }
        }

        copy.CopyRest();
    }

    private static void RewriteObject(ref Utf8JsonReader reader, ref Copier copy, ListItemFilter isVisible, ref Counts counts)
    {
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var carriesLists = reader.ValueTextEquals("result"u8) || reader.ValueTextEquals("params"u8);
            reader.Read();
            if (carriesLists && reader.TokenType == JsonTokenType.StartObject)
            {
                RewriteResult(ref reader, ref copy, isVisible, ref counts);
            }
            else
            {
                reader.Skip();
            }
        }
    }

    private static void RewriteResult(ref Utf8JsonReader reader, ref Copier copy, ListItemFilter isVisible, ref Counts counts)
    {
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var list = -1;
            for (var i = 0; i < Lists.Length; i++)
            {
                if (reader.ValueTextEquals(Lists[i].Property))
                {
                    list = i;
                    break;
                }
            }

            reader.Read();
            if (list < 0)
            {
                reader.Skip();
                continue;
            }

            if (reader.TokenType != JsonTokenType.StartArray)
            {
                // A list that is not a list: the client could only misread it; replace it with an empty one.
                var start = (int)reader.TokenStartIndex;
                reader.Skip();
                copy.Replace(start, (int)reader.BytesConsumed, "[]"u8);
                counts.Replaced++;
                counts.Malformed = true;
                continue;
            }

            FilterArray(ref reader, ref copy, Lists[list].Property, Lists[list].Kind, Lists[list].NameProperty, isVisible, ref counts);
        }
    }

    private static void FilterArray(
        ref Utf8JsonReader reader, ref Copier copy, string listProperty, McpCallKind kind, string nameProperty, ListItemFilter isVisible, ref Counts counts)
    {
        // keepEnd: where the last kept item ends; a dropped item is cut from there, together with the
        // separator before it, so "[a, b, c]" minus b is "[a, c]" byte for byte.
        var keepEnd = 0;
        var keptAny = false;
        var droppedSinceKeep = false;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            var itemStart = (int)reader.TokenStartIndex;
            string? name = null;
            if (reader.TokenType == JsonTokenType.StartObject)
            {
                name = ReadItemName(ref reader, nameProperty);
            }
            else
            {
                reader.Skip();
            }

            var itemEnd = (int)reader.BytesConsumed;
            if (name is not null && isVisible(listProperty, kind, name, copy.Source[itemStart..itemEnd]))
            {
                if (!keptAny && droppedSinceKeep)
                {
                    // The first survivor follows a cut item: drop the separator that led to it.
                    copy.Skip(itemStart);
                }

                keptAny = true;
                droppedSinceKeep = false;
                keepEnd = itemEnd;
                counts.Kept++;
            }
            else
            {
                if (keptAny)
                {
                    // "…, kept, cut" → "…, kept": the cut takes its leading separator.
                    copy.CutFrom(keepEnd, itemEnd);
                }
                else if (!droppedSinceKeep)
                {
                    // First item cut: whitespace after '[' stays; the separator after it goes with the next survivor.
                    copy.CutFrom(itemStart, itemEnd);
                }
                else
                {
                    copy.Skip(itemEnd);
                }

                droppedSinceKeep = true;
                counts.Removed++;
            }
        }
    }

    /// <summary>The item's own <paramref name="nameProperty"/>, if it is there exactly once and is a string.</summary>
    private static string? ReadItemName(ref Utf8JsonReader reader, string nameProperty)
    {
        string? name = null;
        var seen = 0;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var isName = reader.ValueTextEquals(nameProperty);
            reader.Read();
            if (isName)
            {
                seen++;
                name = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
            }

            reader.Skip();
        }

        // Two names: which one would the client show? Neither (RFC 8259 §4 duplicate names).
        return seen == 1 ? name : null;
    }

    internal struct Counts
    {
        public int Kept;
        public int Removed;
        public int Replaced;
        public bool Malformed;

        public readonly int Edits => Removed + Replaced;
    }
}
