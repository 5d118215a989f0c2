using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using Spectre.Console;

namespace Fabric.Cli;

public static partial class CliApp
{
    /// <summary>What the API adds to an object that is not part of what is PUT (left out of export, ignored by the diff).</summary>
    private static readonly HashSet<string> OutputOnly = new(StringComparer.Ordinal) { "name", "revision", "version", "updatedAt", "createdAt", "isLaunched" };

    private static string PathOf(string kind, string name) => kind switch
    {
        "Secret" => $"v1/secrets/{Escape(name)}",
        "EgressTarget" => $"v1/egress/{Escape(name)}",
        "Server" => $"v1/servers/{Escape(name)}",
        "Federation" => $"v1/federation/{Escape(name)}",
        _ => $"v1/policies/{Escape(name)}",
    };

    private static Command ApplyCommand(CliIo io, Globals g)
    {
        var file = new Option<string>("--file", "-f") { Description = "The YAML file (several documents; - for stdin)", Required = true };
        var dryRun = new Option<bool>("--dry-run") { Description = "Print what would change, and replay past calls under the new policies; change nothing" };
        var replay = new Option<int>("--replay") { Description = "How many of the latest audited calls the dry run replays", DefaultValueFactory = _ => 1000 };
        var command = new Command("apply", "Apply servers, policies, egress targets, secrets (by reference) and federation from YAML, in dependency order") { file, dryRun, replay };
        command.SetAction(With(io, g, async (s, parse, ct) =>
        {
            var path = parse.GetValue(file)!;
            string text;
            try
            {
                text = path == "-" ? await io.In.ReadToEndAsync(ct) : await File.ReadAllTextAsync(path, ct);
            }
            catch (IOException ex)
            {
                throw new UsageException($"'{path}' could not be read: {ex.Message}");
            }
            var (documents, errors) = YamlDocuments.Parse(text);
            var bodies = new Dictionary<FabricDocument, string>();
            foreach (var document in documents)
            {
                if (document.Kind != "Secret")
                {
                    bodies[document] = document.Spec.ToJsonString();
                    continue;
                }
                var value = SecretValueOf(io, document, errors);
                if (value is not null)
                {
                    bodies[document] = JsonSerializer.Serialize(new { value });
                }
            }
            if (errors.Count > 0)
            {
                foreach (var error in errors)
                {
                    await io.Error.WriteLineAsync($"{path}: {error}");
                }
                return ExitCodes.Usage;
            }
            var ordered = documents.OrderBy(d => d.Order).ThenBy(d => d.Index).ToList();
            return parse.GetValue(dryRun)
                ? await DryRunAsync(s, ordered, parse.GetValue(replay), ct)
                : await ApplyAsync(s, path, ordered, bodies, ct);
        }));
        return command;
    }

    private static string? SecretValueOf(CliIo io, FabricDocument document, List<YamlError> errors)
    {
        if (document.Spec["fromEnv"]?.GetValue<string>() is { } variable)
        {
            if (io.Environment(variable) is { Length: > 0 } value)
            {
                return value;
            }
            errors.Add(new YamlError(document.Index, document.LineOf("fromEnv"), "spec.fromEnv", $"the environment variable {variable} is not set"));
            return null;
        }
        var file = document.Spec["fromFile"]!.GetValue<string>();
        try
        {
            var value = File.ReadAllText(file);
            return value.EndsWith('\n') ? value.TrimEnd('\n', '\r') : value;
        }
        catch (IOException ex)
        {
            errors.Add(new YamlError(document.Index, document.LineOf("fromFile"), "spec.fromFile", $"'{file}' could not be read: {ex.Message}"));
            return null;
        }
    }

    private static async Task<int> ApplyAsync(Session s, string path, List<FabricDocument> documents, Dictionary<FabricDocument, string> bodies, CancellationToken ct)
    {
        var applied = new List<string>();
        foreach (var document in documents)
        {
            try
            {
                await s.Api.PutAsync(PathOf(document.Kind, document.Name), bodies[document], ct);
                applied.Add($"{document.Kind} {document.Name}");
            }
            catch (ApiException ex)
            {
                // Stop at the first refusal; say what went in before it, and where in the file the refusal points.
                await s.Io.Error.WriteLineAsync($"applied {applied.Count} of {documents.Count}{(applied.Count > 0 ? ": " + string.Join(", ", applied) : "")}");
                await s.Io.Error.WriteLineAsync($"{path}: document {document.Index} ({document.Kind} {document.Name}) refused: {ex.Message.Split('\n')[0]}");
                if (ex.Problem is { ValueKind: JsonValueKind.Object } problem && problem.TryGetProperty("errors", out var fields) && fields.ValueKind == JsonValueKind.Object)
                {
                    foreach (var field in fields.EnumerateObject())
                    {
                        var messages = field.Value.ValueKind == JsonValueKind.Array ? string.Join("; ", field.Value.EnumerateArray().Select(m => m.GetString())) : field.Value.ToString();
                        await s.Io.Error.WriteLineAsync($"{path}: document {document.Index}, line {document.LineOf(field.Name)}, spec.{field.Name}: {messages}");
                    }
                }
                return ex.ExitCode;
            }
        }
        s.Console.MarkupLineInterpolated($"Applied {applied.Count} document(s): {string.Join(", ", applied)}.");
        return ExitCodes.Ok;
    }

    private static async Task<int> DryRunAsync(Session s, List<FabricDocument> documents, int replay, CancellationToken ct)
    {
        var secrets = Items(await s.Api.GetAsync("v1/secrets", ct), "secrets").Select(e => Text(e, "name")).ToHashSet(StringComparer.Ordinal);
        var federation = documents.Any(d => d.Kind == "Federation") ? Items(await s.Api.GetAsync("v1/federation", ct), "trustDomains") : [];
        var changes = new List<(string Kind, string Name, string Change)>();
        foreach (var document in documents)
        {
            JsonElement? current = document.Kind switch
            {
                "Secret" => null,
                "Federation" => federation.Cast<JsonElement?>().FirstOrDefault(f => Text(f!.Value, "trustDomain") == document.Name),
                _ => await GetOrNullAsync(s.Api, PathOf(document.Kind, document.Name), ct),
            };
            var change = document.Kind == "Secret"
                ? secrets.Contains(document.Name) ? "replace (the value is not compared)" : "create"
                : current is null ? "create"
                : Differences(document.Spec, current.Value) is { Count: > 0 } fields ? "change: " + string.Join(", ", fields) : "unchanged";
            changes.Add((document.Kind, document.Name, change));
        }
        var policies = documents.Where(d => d.Kind == "Policy").Select(d =>
        {
            var candidate = d.Spec.DeepClone().AsObject();
            candidate["name"] = d.Name;
            return candidate;
        }).ToList();
        JsonElement? replayed = policies.Count == 0 ? null
            : await s.Api.PostAsync("v1/policies:replay", new JsonObject { ["policies"] = new JsonArray([.. policies]), ["limit"] = replay }.ToJsonString(), ct);
        var answer = JsonSerializer.SerializeToElement(new
        {
            changes = changes.Select(c => new { kind = c.Kind, name = c.Name, change = c.Change }),
            replay = replayed,
        });
        return await s.PrintAsync(answer, (console, _) =>
        {
            var table = new Table().Border(TableBorder.Simple).AddColumn("Kind").AddColumn("Name").AddColumn("Change");
            foreach (var (kind, name, change) in changes)
            {
                table.AddRow(Markup.Escape(kind), Markup.Escape(name), Markup.Escape(change));
            }
            console.Write(table);
            if (replayed is { } r)
            {
                var flips = Items(r, "flips");
                console.MarkupLineInterpolated($"Replayed {Text(r, "replayed")} recent call(s) under the new policies: {flips.Length} would flip.");
                if (flips.Length > 0)
                {
                    Table(console, flips.Select(f => JsonSerializer.SerializeToElement(new
                    {
                        time = Text(f, "time"),
                        workload = Text(f, "workload"),
                        call = $"{Text(f, "server")} {Text(f, "method")} {Text(f, "name")}".TrimEnd(),
                        flip = $"{Text(f, "was")} → {Text(f, "now")}",
                        reason = Text(f, "nowReason") + (f.TryGetProperty("dependsOnArguments", out var a) && a.ValueKind == JsonValueKind.True ? " (depends on arguments)" : ""),
                    })), ("Time", "time"), ("Workload", "workload"), ("Call", "call"), ("Flip", "flip"), ("Now", "reason"));
                }
            }
        });
    }

    private static async Task<JsonElement?> GetOrNullAsync(ApiClient api, string path, CancellationToken ct)
    {
        try
        {
            return await api.GetAsync(path, ct);
        }
        catch (ApiException ex) when (ex.Message.StartsWith("404", StringComparison.Ordinal))
        {
            return null;
        }
    }

    /// <summary>The top-level fields of <paramref name="desired"/> that <paramref name="current"/> does not already hold.</summary>
    private static List<string> Differences(JsonObject desired, JsonElement current) =>
        [.. desired.Where(p => !current.TryGetProperty(p.Key, out var value) ? p.Value is not null : !Holds(p.Value, value)).Select(p => p.Key)];

    /// <summary>True when <paramref name="current"/> holds <paramref name="desired"/> (objects: every desired member; arrays: element-wise).</summary>
    private static bool Holds(JsonNode? desired, JsonElement current) => desired switch
    {
        null => current.ValueKind == JsonValueKind.Null,
        JsonObject obj => current.ValueKind == JsonValueKind.Object
            && obj.All(p => current.TryGetProperty(p.Key, out var v) ? Holds(p.Value, v) : p.Value is null),
        JsonArray array => current.ValueKind == JsonValueKind.Array && current.GetArrayLength() == array.Count
            && array.Select((item, i) => Holds(item, current[i])).All(held => held),
        JsonValue value => JsonNode.DeepEquals(value, JsonNode.Parse(current.GetRawText())),
        _ => false,
    };

    private static readonly (string Kind, string Path, string Property)[] ExportedLists =
        [("EgressTarget", "v1/egress", "targets"), ("Server", "v1/servers", "servers"), ("Federation", "v1/federation", "trustDomains"), ("Policy", "v1/policies", "policies")];

    /// <summary>What a federation is PUT with; the rest of its listing is the fetch's state (sequence, refreshes, errors, counts).</summary>
    private static readonly HashSet<string> FederationSpec = new(StringComparer.Ordinal) { "bundleEndpointUrl", "profile", "endpointSpiffeId", "bootstrapBundle" };

    private static Command ExportCommand(CliIo io, Globals g)
    {
        var file = new Option<string?>("--file", "-f") { Description = "Write the YAML here (default: stdout)" };
        var command = new Command("export", "The live state as YAML that apply accepts unchanged (secrets as references: fromEnv FABRIC_SECRET_<NAME>)") { file };
        command.SetAction(With(io, g, async (s, parse, ct) =>
        {
            var documents = new List<(string, string, JsonObject)>();
            foreach (var secret in Items(await s.Api.GetAsync("v1/secrets", ct), "secrets"))
            {
                var name = Text(secret, "name");
                documents.Add(("Secret", name, new JsonObject { ["fromEnv"] = SecretVariable(name) }));
            }
            foreach (var (kind, listPath, property) in ExportedLists)
            {
                foreach (var item in Items(await s.Api.GetAsync(listPath, ct), property))
                {
                    var spec = JsonNode.Parse(item.GetRawText())!.AsObject();
                    var federation = kind == "Federation";
                    foreach (var key in spec.Select(p => p.Key).Where(k => federation ? !FederationSpec.Contains(k) : OutputOnly.Contains(k)).ToList())
                    {
                        spec.Remove(key);
                    }
                    documents.Add((kind, Text(item, federation ? "trustDomain" : "name"), spec));
                }
            }
            var yaml = YamlDocuments.Write(documents);
            if (parse.GetValue(file) is { } path)
            {
                await File.WriteAllTextAsync(path, yaml, ct);
                s.Console.MarkupLineInterpolated($"Wrote {documents.Count} document(s) to {path}.");
            }
            else
            {
                await io.Out.WriteAsync(yaml);
            }
            return ExitCodes.Ok;
        }));
        return command;
    }

    /// <summary>The environment variable an exported secret is read back from: <c>FABRIC_SECRET_</c> and its name in upper case.</summary>
    public static string SecretVariable(string name) =>
        "FABRIC_SECRET_" + new string([.. name.ToUpperInvariant().Select(c => char.IsAsciiLetterOrDigit(c) ? c : '_')]);
}
