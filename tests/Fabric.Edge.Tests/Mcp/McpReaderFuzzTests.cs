using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;
using CsCheck;
using Fabric.Contracts.Policy;
using Fabric.Edge.Mcp;

namespace Fabric.Edge.Tests.Mcp;

/// <summary>
/// Fuzzes the two parsers the edge decides with, over random bytes and random mutations of valid messages
/// (byte flips, insertions, deletions, duplicated spans: duplicate keys, escapes, truncation). The reader must
/// never throw and, when it accepts a message, must have read the same method and name as an independent strict
/// parse (JsonDocument, UTF-8 checked, duplicates refused at every level the decision reads). The list filter must
/// never throw and must never let an invisible item through.
/// </summary>
public sealed class McpReaderFuzzTests
{
    private static readonly string[] Seeds =
    [
        """{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hi","n":1}}}""",
        """{"jsonrpc":"2.0","id":"a","method":"resources/read","params":{"uri":"file:///x","_meta":{"k":"v"}}}""",
        """{"jsonrpc":"2.0","id":2,"method":"prompts/get","params":{"name":"summarize","arguments":{}}}""",
        """{"jsonrpc":"2.0","method":"notifications/initialized"}""",
        """{"jsonrpc":"2.0","id":3,"result":{"tools":[]}}""",
        """{"params":{"name":"ech\u006f"},"method":"tools\/call","id":4,"jsonrpc":"2.0"}""",
        """{"jsonrpc":"2.0","id":5,"method":"x/custom","params":{"name":"delete_all_files"}}""",
    ];

    private static readonly Gen<byte[]> Mutated = Gen.Select(Gen.Int[0, Seeds.Length - 1], Gen.Select(Gen.Int[0, 4], Gen.Int[0, 400], Gen.Int[1, 12], Gen.Byte).Array[1, 4])
        .Select((seed, edits) =>
        {
            var bytes = new List<byte>(Encoding.UTF8.GetBytes(Seeds[seed]));
            foreach (var (op, at, length, value) in edits)
            {
                var position = Math.Min(at, bytes.Count);
                switch (op)
                {
                    case 0 when position < bytes.Count:
                        bytes[position] = value;                                          // flip
                        break;
                    case 1:
                        bytes.Insert(position, value);                                    // insert
                        break;
                    case 2:
                        bytes.RemoveRange(position, Math.Min(length, bytes.Count - position)); // delete / truncate
                        break;
                    default:
                        var span = bytes.Skip(position).Take(length).ToArray();            // duplicate a span (keys, members)
                        bytes.InsertRange(Math.Min(position + span.Length, bytes.Count), span);
                        break;
                }
            }
            return bytes.ToArray();
        });

    private static readonly Gen<byte[]> Inputs = Gen.Frequency((1, Gen.Byte.Array[0, 120]), (4, Mutated));

    [Fact]
    public void The_reader_never_throws_and_reads_what_a_strict_parse_reads() =>
        Inputs.Sample(bytes =>
        {
            var outcome = McpMessageReader.Parse(bytes);
            var model = StrictModel(bytes);
            if (outcome.Status != McpReadStatus.Ok)
            {
                return true; // refusing is always safe; accepting what the model refuses is not (below)
            }
            var message = outcome.Message!;
            return model is { } m && m.Method == message.Method && m.Name == message.Name;
        }, iter: 20_000, print: bytes => Convert.ToBase64String(bytes));

    [Fact]
    public void The_reader_accepts_the_seeds() =>
        Assert.All(Seeds, seed => Assert.Equal(McpReadStatus.Ok, McpMessageReader.Parse(Encoding.UTF8.GetBytes(seed)).Status));

    private static readonly string[] ListSeeds =
    [
        """{"jsonrpc":"2.0","id":2,"result":{"tools":[{"name":"echo"},{"name":"delete_all_files"},{"name":"add","x":{"name":"y"}}]}}""",
        "event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":2,\"result\":{\"tools\":[{\"name\":\"delete_all_files\"},{\"name\":\"echo\"}]}}\n\n",
        "event: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"n\",\"params\":{\"prompts\":[{\"name\":\"admin_prompt\"}]}}\n\n",
        """{"jsonrpc":"2.0","id":2,"result":{"tools":[{"name":"\u0065cho"},{"name":"\uD800x"},{"nam\u0065":"delete_all_files"}]}}""",
    ];

    private static readonly Gen<(byte[] Body, bool Sse)> ListInputs = Gen.Select(Gen.Int[0, ListSeeds.Length - 1], Gen.Select(Gen.Int[0, 4], Gen.Int[0, 200], Gen.Int[1, 12], Gen.Byte).Array[0, 3])
        .Select((seed, edits) =>
        {
            var bytes = new List<byte>(Encoding.UTF8.GetBytes(ListSeeds[seed]));
            foreach (var (op, at, length, value) in edits)
            {
                var position = Math.Min(at, bytes.Count);
                if (op == 0 && position < bytes.Count) { bytes[position] = value; }
                else if (op == 1) { bytes.Insert(position, value); }
                else if (op == 2) { bytes.RemoveRange(position, Math.Min(length, bytes.Count - position)); }
                else { bytes.InsertRange(position, bytes.Skip(position).Take(length).ToArray()); }
            }
            return (bytes.ToArray(), ListSeeds[seed].StartsWith("event:", StringComparison.Ordinal));
        });

    private static bool Visible(McpCallKind kind, string name) => name is "echo" or "add";

    [Fact]
    public void The_list_filter_never_throws_and_never_lets_an_invisible_item_through() =>
        ListInputs.Sample(input =>
        {
            var output = new ArrayBufferWriter<byte>();
            var stats = ListResultFilter.Filter(input.Body, input.Sse ? "text/event-stream" : "application/json", Visible, output);
            if (stats.Refused)
            {
                return true; // nothing of a refused answer is sent (the edge answers 502)
            }
            var payloads = input.Sse ? SseData(output.WrittenSpan) : [output.WrittenSpan.ToArray()];
            return payloads.All(p => NoInvisibleItem(p));
        }, iter: 10_000, print: input => Convert.ToBase64String(input.Body));

    /// <summary>What a strict, independent parser makes of the body: its method and decision name, or null if it refuses it.</summary>
    private static (string? Method, string? Name)? StrictModel(byte[] bytes)
    {
        if (!Utf8.IsValid(bytes))
        {
            return null;
        }
        try
        {
            using var document = JsonDocument.Parse(bytes);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || HasDuplicates(root, deep: false))
            {
                return null;
            }
            var method = root.TryGetProperty("method", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString() : null;
            string? name = null;
            if (method is not null && root.TryGetProperty("params", out var parameters) && parameters.ValueKind == JsonValueKind.Object)
            {
                // Duplicates are refused where the decision reads: the message, its params, and (at any depth) the
                // arguments of a tool or prompt call (the only calls argument rules decide on; other methods' members
                // are the upstream's to read, and an unknown method is denied whatever its arguments say).
                var kind = McpMethods.Classify(method);
                if (HasDuplicates(parameters, deep: false)
                    || (kind is McpCallKind.Tool or McpCallKind.Prompt
                        && parameters.TryGetProperty("arguments", out var arguments) && HasDuplicates(arguments, deep: true)))
                {
                    return null;
                }
                var property = kind switch
                {
                    McpCallKind.Tool or McpCallKind.Prompt => "name",
                    McpCallKind.Resource => "uri",
                    _ => null,
                };
                if (property is not null && parameters.TryGetProperty(property, out var n) && n.ValueKind == JsonValueKind.String)
                {
                    name = n.GetString();
                }
            }
            return (method, name);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static bool HasDuplicates(JsonElement element, bool deep) => element.ValueKind switch
    {
        JsonValueKind.Object => element.EnumerateObject().GroupBy(p => p.Name, StringComparer.Ordinal).Any(g => g.Count() > 1)
            || (deep && element.EnumerateObject().Any(p => HasDuplicates(p.Value, deep))),
        JsonValueKind.Array => deep && element.EnumerateArray().Any(e => HasDuplicates(e, deep)),
        _ => false,
    };

    private static bool NoInvisibleItem(byte[] json)
    {
        if (!Utf8.IsValid(json))
        {
            return false; // passed on bytes no client can decode as the filter did
        }
        try
        {
            using var document = JsonDocument.Parse(json);
            return Check(document.RootElement);
        }
        catch (JsonException)
        {
            return false; // the filter passed on something a client cannot parse either: count it as a failure
        }
        catch (InvalidOperationException)
        {
            return true; // a key that decodes to no text (a lone surrogate) is no "tools" or "name" key to any client
        }

        static bool Check(JsonElement element)
        {
            if (element.ValueKind != JsonValueKind.Object)
            {
                return true;
            }
            foreach (var holder in new[] { "result", "params" })
            {
                if (!element.TryGetProperty(holder, out var lists) || lists.ValueKind != JsonValueKind.Object)
                {
                    continue;
                }
                foreach (var list in lists.EnumerateObject())
                {
                    if (list.Name is not ("tools" or "prompts" or "resources" or "resourceTemplates") || list.Value.ValueKind != JsonValueKind.Array)
                    {
                        continue;
                    }
                    foreach (var item in list.Value.EnumerateArray())
                    {
                        var names = item.ValueKind == JsonValueKind.Object
                            ? item.EnumerateObject().Where(p => p.Name is "name" or "uri" or "uriTemplate").ToList()
                            : [];
                        if (names.Count != 1 || names[0].Value.ValueKind != JsonValueKind.String || !Visible(McpCallKind.Tool, names[0].Value.GetString()!))
                        {
                            return false;
                        }
                    }
                }
            }
            return true;
        }
    }

    private static List<byte[]> SseData(ReadOnlySpan<byte> stream)
    {
        var events = new List<byte[]>();
        foreach (var block in Encoding.UTF8.GetString(stream).Replace("\r\n", "\n", StringComparison.Ordinal).Replace('\r', '\n').Split("\n\n"))
        {
            var data = string.Join("\n", block.Split('\n').Where(l => l.StartsWith("data", StringComparison.Ordinal))
                .Select(l => l.Length > 4 && l[4] == ':' ? l[5..].TrimStart(' ') : ""));
            if (data.Trim().Length > 0)
            {
                events.Add(Encoding.UTF8.GetBytes(data));
            }
        }
        return events;
    }
}
