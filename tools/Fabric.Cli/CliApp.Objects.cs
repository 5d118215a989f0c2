using System.CommandLine;
using System.Text.Json;
using Spectre.Console;

namespace Fabric.Cli;

/// <summary>The verbs on the fabric's objects: servers, policies, secrets, SVIDs, leases.</summary>
public static partial class CliApp
{
    /// <summary><c>rm NAME</c>: deletes <c>{collection}/{name}</c> and says so.</summary>
    private static Command RemoveCommand(CliIo io, Globals g, Argument<string> name, string noun, string collection, string description)
    {
        var rm = new Command("rm", description) { name };
        rm.SetAction(With(io, g, async (s, parse, ct) =>
        {
            await s.Api.DeleteAsync($"{collection}/{Escape(parse.GetValue(name)!)}", ct);
            s.Console.MarkupLineInterpolated($"Removed {noun} {parse.GetValue(name)}.");
            return ExitCodes.Ok;
        }));
        return rm;
    }

    private static Command ServerCommand(CliIo io, Globals g)
    {
        var name = new Argument<string>("name") { Description = "The server's name" };
        var file = new Option<string>("--file", "-f") { Description = "The definition (JSON; - for stdin)", Required = true };
        var command = new Command("server", "MCP servers: list, show, put, remove");
        var ls = new Command("ls", "List servers");
        ls.SetAction(With(io, g, async (s, _, ct) => await s.PrintAsync(await s.Api.GetAsync("v1/servers", ct), (console, answer) =>
            Table(console, Items(answer, "servers").Select(ServerRow), ("Name", "name"), ("Target", "target"), ("Identity", "identity"), ("Credential", "credential"), ("Tool lock", "toolLock")))));
        var get = new Command("get", "Show one server") { name };
        get.SetAction(With(io, g, async (s, parse, ct) => await s.PrintAsync(await s.Api.GetAsync($"v1/servers/{Escape(parse.GetValue(name)!)}", ct), Properties)));
        var put = new Command("put", "Create or replace a server from a JSON definition") { name, file };
        put.SetAction(With(io, g, async (s, parse, ct) =>
            await s.PrintAsync(await s.Api.PutAsync($"v1/servers/{Escape(parse.GetValue(name)!)}", await ReadJsonFileAsync(io, parse.GetValue(file)!, ct), ct), Properties)));
        var rm = RemoveCommand(io, g, name, "server", "v1/servers", "Remove a server (its live calls are cut, its approvals cancelled)");
        command.Subcommands.Add(ls);
        command.Subcommands.Add(get);
        command.Subcommands.Add(put);
        command.Subcommands.Add(rm);
        return command;
    }

    /// <summary>A server as one table row: where it runs (upstream or launched command) and its credential's source.</summary>
    private static JsonElement ServerRow(JsonElement server) => JsonSerializer.SerializeToElement(new
    {
        name = Text(server, "name"),
        target = server.TryGetProperty("launch", out var launch) && launch.ValueKind == JsonValueKind.Object ? "launch: " + Text(launch, "command") : Text(server, "upstream"),
        identity = Text(server, "identity"),
        credential = server.TryGetProperty("credential", out var credential) && credential.ValueKind == JsonValueKind.Object
            ? Text(credential, "source") + ":" + Text(credential, "ref")
            : "",
        toolLock = Text(server, "toolLock"),
    });

    private static Command PolicyCommand(CliIo io, Globals g)
    {
        var name = new Argument<string>("name") { Description = "The policy's name" };
        var file = new Option<string>("--file", "-f") { Description = "The policy (JSON {subjects, rules}; - for stdin)", Required = true };
        var command = new Command("policy", "Policies: list, show, put, remove");
        var ls = new Command("ls", "List policies");
        ls.SetAction(With(io, g, async (s, _, ct) => await s.PrintAsync(await s.Api.GetAsync("v1/policies", ct), (console, answer) =>
            Table(console, Items(answer, "policies").Select(p => JsonSerializer.SerializeToElement(new
            {
                name = Text(p, "name"),
                subjects = Text(p, "subjects"),
                rules = Items(p, "rules").Length,
                version = Text(p, "version"),
            })), ("Name", "name"), ("Subjects", "subjects"), ("Rules", "rules"), ("Version", "version")))));
        var get = new Command("get", "Show one policy") { name };
        get.SetAction(With(io, g, async (s, parse, ct) => await s.PrintAsync(await s.Api.GetAsync($"v1/policies/{Escape(parse.GetValue(name)!)}", ct), (console, policy) =>
        {
            console.MarkupLineInterpolated($"{Text(policy, "name")} (version {Text(policy, "version")}) for {Text(policy, "subjects")}");
            Table(console, Items(policy, "rules").Select((r, i) => JsonSerializer.SerializeToElement(new
            {
                index = i,
                effect = Text(r, "effect"),
                target = r.TryGetProperty("egress", out _) ? "egress " + Text(r, "egress") : Text(r, "server"),
                names = string.Join(" ", new[] { ("tools", "tools"), ("resources", "resources"), ("prompts", "prompts"), ("methods", "methods") }
                    .Where(k => Text(r, k.Item2).Length > 0).Select(k => $"{k.Item1}=[{Text(r, k.Item2)}]")),
                when = Text(r, "when"),
                limit = Text(r, "limit"),
            })), ("#", "index"), ("Effect", "effect"), ("Server", "target"), ("Names", "names"), ("When", "when"), ("Limit", "limit"));
        })));
        var put = new Command("put", "Create or replace a policy from JSON (field errors are printed by path)") { name, file };
        put.SetAction(With(io, g, async (s, parse, ct) =>
            await s.PrintAsync(await s.Api.PutAsync($"v1/policies/{Escape(parse.GetValue(name)!)}", await ReadJsonFileAsync(io, parse.GetValue(file)!, ct), ct),
                (console, policy) => console.MarkupLineInterpolated($"Policy {Text(policy, "name")} is at version {Text(policy, "version")}."))));
        var rm = new Command("rm", "Remove a policy (live calls it allowed are cut)") { name };
        rm.SetAction(With(io, g, async (s, parse, ct) => await s.PrintAsync(await s.Api.DeleteAsync($"v1/policies/{Escape(parse.GetValue(name)!)}", ct),
            (console, answer) => console.MarkupLineInterpolated($"Removed policy {parse.GetValue(name)}; the catalog is at version {Text(answer, "version")}."))));
        command.Subcommands.Add(ls);
        command.Subcommands.Add(get);
        command.Subcommands.Add(put);
        command.Subcommands.Add(rm);
        return command;
    }

    private static Command SecretCommand(CliIo io, Globals g)
    {
        var name = new Argument<string>("name") { Description = "The secret's name" };
        var file = new Option<string?>("--file", "-f") { Description = "Read the value from this file (default: stdin); never from an argument" };
        var command = new Command("secret", "Secrets of the local store: list (names only), put, remove");
        var ls = new Command("ls", "List secrets (names, revisions, times; never values)");
        ls.SetAction(With(io, g, async (s, _, ct) => await s.PrintAsync(await s.Api.GetAsync("v1/secrets", ct), (console, answer) =>
            Table(console, Items(answer, "secrets"), ("Name", "name"), ("Revision", "revision"), ("Created", "createdAt"), ("Updated", "updatedAt")))));
        var put = new Command("put", "Store a secret; the value comes from stdin or --file") { name, file };
        put.SetAction(With(io, g, async (s, parse, ct) =>
        {
            string value;
            try
            {
                value = parse.GetValue(file) is { } path ? await File.ReadAllTextAsync(path, ct) : await io.In.ReadToEndAsync(ct);
            }
            catch (IOException ex)
            {
                throw new UsageException("The value could not be read: " + ex.Message);
            }
            // One trailing newline (echo, a heredoc) is not part of the value.
            value = value.EndsWith("\r\n", StringComparison.Ordinal) ? value[..^2] : value.EndsWith('\n') ? value[..^1] : value;
            if (value.Length == 0)
            {
                throw new UsageException("The value is empty: pipe it in or pass --file.");
            }
            await s.Api.PutAsync($"v1/secrets/{Escape(parse.GetValue(name)!)}", JsonSerializer.Serialize(new { value }), ct);
            s.Console.MarkupLineInterpolated($"Stored secret {parse.GetValue(name)}.");
            return ExitCodes.Ok;
        }));
        var rm = RemoveCommand(io, g, name, "secret", "v1/secrets", "Remove a secret");
        command.Subcommands.Add(ls);
        command.Subcommands.Add(put);
        command.Subcommands.Add(rm);
        return command;
    }

    private static Command SvidCommand(CliIo io, Globals g)
    {
        var id = new Option<string>("--id") { Description = "The SPIFFE ID to mint for", Required = true };
        var ttl = new Option<int?>("--ttl") { Description = "Lifetime in seconds" };
        var outDirectory = new Option<string>("--out") { Description = "Where to write svid.pem, svid-key.pem (0600) and bundle.pem", DefaultValueFactory = _ => "." };
        var mint = new Command("mint", "Mint an X.509-SVID into files (the private key is never printed)") { id, ttl, outDirectory };
        mint.SetAction(With(io, g, async (s, parse, ct) =>
        {
            var svid = await s.Api.PostAsync("v1/svids", JsonSerializer.Serialize(new { spiffeId = parse.GetValue(id), ttlSeconds = parse.GetValue(ttl) }), ct);
            var directory = Path.GetFullPath(parse.GetValue(outDirectory)!);
            Directory.CreateDirectory(directory);
            var certificate = Path.Combine(directory, "svid.pem");
            var key = Path.Combine(directory, "svid-key.pem");
            var bundle = Path.Combine(directory, "bundle.pem");
            await File.WriteAllTextAsync(certificate, Text(svid, "certificatePem"), ct);
            await using (var writer = new StreamWriter(PrivateFiles.Create(key)))
            {
                await writer.WriteAsync(Text(svid, "privateKeyPem"));
            }
            await File.WriteAllTextAsync(bundle, Text(svid, "bundlePem"), ct);
            return await s.PrintAsync(JsonSerializer.SerializeToElement(new { spiffeId = parse.GetValue(id), certificate, key, bundle, expiresAt = Text(svid, "expiresAt") }),
                (console, written) => Properties(console, written));
        }));
        var command = new Command("svid", "X.509-SVIDs from the fabric's CA");
        command.Subcommands.Add(mint);
        return command;
    }

    private static Command LeaseCommand(CliIo io, Globals g)
    {
        var server = new Argument<string>("server") { Description = "The MCP server" };
        var command = new Command("lease", "A server's leased credentials");
        var ls = new Command("ls", "The server's credential source and its leases (never values)") { server };
        ls.SetAction(With(io, g, async (s, parse, ct) => await s.PrintAsync(await s.Api.GetAsync($"v1/servers/{Escape(parse.GetValue(server)!)}/credential", ct), (console, state) =>
        {
            console.MarkupLineInterpolated($"source {Text(state, "source")}, per workload: {Text(state, "perWorkload")}");
            Table(console, Items(state, "leases"), ("Lease", "leaseId"), ("Workload", "workload"), ("State", "state"), ("Expires", "expiresAt"), ("Revision", "revision"));
        })));
        var rotate = new Command("rotate", "Rotate the server's credential now") { server };
        rotate.SetAction(With(io, g, async (s, parse, ct) => await s.PrintAsync(
            await s.Api.PostAsync($"v1/servers/{Escape(parse.GetValue(server)!)}/credential:rotate", null, ct), Properties)));
        command.Subcommands.Add(ls);
        command.Subcommands.Add(rotate);
        return command;
    }
}
