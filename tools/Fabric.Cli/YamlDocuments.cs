using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Fabric.Cli;

/// <summary>One document of a <c>fabric apply</c> file: <c>kind</c>, <c>name</c>, <c>spec</c>, and where it stands in the file.</summary>
public sealed record FabricDocument(int Index, int Line, string Kind, string Name, JsonObject Spec, YamlMappingNode SpecNode, int LineOffset = 0)
{
    /// <summary>Dependency order: secrets before what references them, servers before the policies that name them.</summary>
    public int Order => Kinds.IndexOf(Kind);

    public static readonly List<string> Kinds = ["Secret", "EgressTarget", "Server", "Federation", "Policy"];

    /// <summary>The line of the node an API field path (<c>rules[0].effect</c>) names, or the document's line.</summary>
    public int LineOf(string? field)
    {
        YamlNode node = SpecNode;
        foreach (Match part in Regex.Matches(field ?? "", @"[^.\[\]]+|\[(\d+)\]"))
        {
            YamlNode? next = part.Groups[1].Success
                ? node is YamlSequenceNode sequence && int.Parse(part.Groups[1].Value, CultureInfo.InvariantCulture) is var i && i < sequence.Children.Count ? sequence.Children[i] : null
                : node is YamlMappingNode mapping && mapping.Children.FirstOrDefault(c => c.Key is YamlScalarNode { Value: var key } && key == part.Value).Value is { } value ? value : null;
            if (next is null)
            {
                break;
            }
            node = next;
        }
        return (int)node.Start.Line + LineOffset;
    }
}

/// <summary>A schema error in an apply file: which document, which line, which field.</summary>
public sealed record YamlError(int Document, int Line, string Field, string Message)
{
    public override string ToString() => $"document {Document}, line {Line}, {Field}: {Message}";
}

/// <summary>
/// Reads <c>fabric apply</c> files (several YAML documents per file, separated by <c>---</c>):
/// <code>
/// kind: Server | Policy | EgressTarget | Secret | Federation
/// name: &lt;name&gt;            (a trust domain for Federation)
/// spec: { … }               (the body the management API takes; a Secret's spec is {fromEnv: VAR} or {fromFile: PATH})
/// </code>
/// Plain scalars follow YAML 1.2's core schema (<c>100</c> is a number, <c>true</c> a boolean, <c>null</c>/<c>~</c> null);
/// quoted ones are strings. A key repeated in one mapping is an error, as it is for the API.
/// </summary>
public static partial class YamlDocuments
{
    private static readonly Regex Integer = new(@"^[-+]?[0-9]+$", RegexOptions.CultureInvariant);
    private static readonly Regex Float = new(@"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$", RegexOptions.CultureInvariant);

    public static (List<FabricDocument> Documents, List<YamlError> Errors) Parse(string text)
    {
        var documents = new List<FabricDocument>();
        var errors = new List<YamlError>();
        // Each document is loaded on its own, so one broken document does not hide the errors of the others.
        var chunks = SplitDocuments(text);
        for (var i = 0; i < chunks.Count; i++)
        {
            var (chunk, offset) = chunks[i];
            var index = i + 1;
            var stream = new YamlStream();
            try
            {
                stream.Load(new StringReader(chunk));
            }
            catch (YamlException ex)
            {
                var line = (int)ex.Start.Line + offset;
                var duplicate = ex.Message.Contains("Duplicate key", StringComparison.OrdinalIgnoreCase)
                    ? Regex.Match(chunk.Split('\n').ElementAtOrDefault((int)ex.Start.Line - 1) ?? "", @"^\s*-?\s*([^:#\s]+)\s*:")
                    : null;
                errors.Add(duplicate is { Success: true }
                    ? new YamlError(index, line, duplicate.Groups[1].Value, "a key appears twice in one mapping")
                    : new YamlError(index, line, "(yaml)", ex.Message));
                continue;
            }
            if (stream.Documents.Count == 0)
            {
                continue;
            }
            ReadDocument(stream.Documents[0], index, offset, documents, errors);
        }
        return (documents, errors);
    }

    /// <summary>The file cut at its <c>---</c> lines: each document's text and the number of lines before it.</summary>
    private static List<(string Text, int Offset)> SplitDocuments(string text)
    {
        var chunks = new List<(string, int)>();
        var lines = text.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n');
        var current = new List<string>();
        var start = 0;
        for (var i = 0; i < lines.Length; i++)
        {
            if (lines[i].TrimEnd() == "---")
            {
                if (current.Any(l => l.Trim().Length > 0 && !l.TrimStart().StartsWith('#')))
                {
                    chunks.Add((string.Join('\n', current), start));
                }
                current.Clear();
                start = i + 1;
                continue;
            }
            current.Add(lines[i]);
        }
        if (current.Any(l => l.Trim().Length > 0 && !l.TrimStart().StartsWith('#')))
        {
            chunks.Add((string.Join('\n', current), start));
        }
        return chunks;
    }

    private static void ReadDocument(YamlDocument document, int index, int offset, List<FabricDocument> documents, List<YamlError> errors)
    {
        int Line(YamlNode node) => (int)node.Start.Line + offset;
        if (document.RootNode is not YamlMappingNode root)
        {
            errors.Add(new YamlError(index, Line(document.RootNode), "(document)", "a document is a mapping with kind, name and spec"));
            return;
        }
        var before = errors.Count;
        foreach (var (key, _) in root.Children)
        {
            if (key is not YamlScalarNode { Value: "kind" or "name" or "spec" })
            {
                errors.Add(new YamlError(index, Line(key), key.ToString(), "unknown member: a document has kind, name and spec only"));
            }
        }
        var kind = Scalar(root, "kind");
        var name = Scalar(root, "name");
        if (kind is null || !FabricDocument.Kinds.Contains(kind))
        {
            errors.Add(new YamlError(index, root.Children.TryGetValue(new YamlScalarNode("kind"), out var k) ? Line(k) : Line(root), "kind",
                $"kind is one of {string.Join(", ", FabricDocument.Kinds)}"));
        }
        if (string.IsNullOrWhiteSpace(name))
        {
            errors.Add(new YamlError(index, Line(root), "name", "name is required"));
        }
        if (!root.Children.TryGetValue(new YamlScalarNode("spec"), out var specNode) || specNode is not YamlMappingNode spec)
        {
            errors.Add(new YamlError(index, Line(root), "spec", "spec is required, a mapping"));
            return;
        }
        var json = ToJson(spec, "spec", index, offset, errors) as JsonObject;
        if (kind == "Secret" && json is not null)
        {
            CheckSecret(json, spec, index, offset, errors);
        }
        if (errors.Count == before && json is not null)
        {
            documents.Add(new FabricDocument(index, Line(root), kind!, name!, json, spec, offset));
        }
    }

    private static string? Scalar(YamlMappingNode mapping, string key) =>
        mapping.Children.TryGetValue(new YamlScalarNode(key), out var node) && node is YamlScalarNode scalar ? scalar.Value : null;

    private static void CheckSecret(JsonObject spec, YamlMappingNode node, int index, int offset, List<YamlError> errors)
    {
        if (spec.ContainsKey("value"))
        {
            var line = node.Children.FirstOrDefault(c => c.Key is YamlScalarNode { Value: "value" }).Key?.Start.Line ?? node.Start.Line;
            errors.Add(new YamlError(index, (int)line + offset, "spec.value", "secret values are never inline: use fromEnv or fromFile"));
        }
        var sources = spec.Count(p => p.Key is "fromEnv" or "fromFile");
        if (sources != 1 || spec.Count != 1 || spec.Any(p => p.Value is not JsonValue v || !v.TryGetValue<string>(out _)))
        {
            errors.Add(new YamlError(index, (int)node.Start.Line + offset, "spec", "a secret's spec is exactly one of fromEnv: VAR or fromFile: PATH"));
        }
    }

    private static JsonNode? ToJson(YamlNode node, string path, int index, int offset, List<YamlError> errors)
    {
        switch (node)
        {
            case YamlMappingNode mapping:
                var obj = new JsonObject();
                foreach (var (keyNode, valueNode) in mapping.Children)
                {
                    var key = (keyNode as YamlScalarNode)?.Value;
                    if (key is null)
                    {
                        errors.Add(new YamlError(index, (int)keyNode.Start.Line + offset, path, "keys are plain strings"));
                        continue;
                    }
                    if (obj.ContainsKey(key))
                    {
                        errors.Add(new YamlError(index, (int)keyNode.Start.Line + offset, $"{path}.{key}", "a key appears twice in one mapping"));
                        continue;
                    }
                    obj[key] = ToJson(valueNode, $"{path}.{key}", index, offset, errors);
                }
                return obj;
            case YamlSequenceNode sequence:
                var array = new JsonArray();
                for (var i = 0; i < sequence.Children.Count; i++)
                {
                    array.Add(ToJson(sequence.Children[i], $"{path}[{i}]", index, offset, errors));
                }
                return array;
            case YamlScalarNode scalar:
                return ScalarValue(scalar);
            default:
                errors.Add(new YamlError(index, (int)node.Start.Line + offset, path, "aliases are not supported"));
                return null;
        }
    }

    private static JsonValue? ScalarValue(YamlScalarNode scalar)
    {
        var value = scalar.Value ?? "";
        if (scalar.Style != ScalarStyle.Plain)
        {
            return JsonValue.Create(value);
        }
        return value switch
        {
            "" or "~" or "null" or "Null" or "NULL" => null,
            "true" or "True" or "TRUE" => JsonValue.Create(true),
            "false" or "False" or "FALSE" => JsonValue.Create(false),
            _ when Integer.IsMatch(value) && long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n) => JsonValue.Create(n),
            _ when Float.IsMatch(value) && double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) => JsonValue.Create(d),
            _ => JsonValue.Create(value),
        };
    }
}
