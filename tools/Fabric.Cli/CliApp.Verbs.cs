using System.CommandLine;
using System.Text.Json;
using Spectre.Console;

namespace Fabric.Cli;

public static partial class CliApp
{
    private static Command LoginCommand(CliIo io, Globals g)
    {
        var command = new Command("login", "Check the API and the admin token, then remember the API and the token file (not the token) for later verbs");
        command.SetAction(With(io, g, async (s, parse, ct) =>
        {
            await s.Api.GetAsync("v1/edges", ct); // needs the token: proves both
            var tokenFile = parse.GetValue(g.TokenFile) is { } file ? Path.GetFullPath(file) : CliConfig.Load(io.ConfigDirectory)?.TokenFile;
            new CliConfig(s.Api.Api.ToString(), tokenFile).Save(io.ConfigDirectory);
            s.Console.MarkupLineInterpolated($"Logged in to {s.Api.Api} (token {(tokenFile is null ? "from FABRIC_ADMIN_TOKEN" : "file " + tokenFile)}).");
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command StatusCommand(CliIo io, Globals g)
    {
        var command = new Command("status", "The cluster at a glance: CA, edges, and how many servers, policies, secrets and pending approvals");
        command.SetAction(With(io, g, async (s, _, ct) =>
        {
            var ca = await s.Api.GetAsync("v1/ca", ct);
            var edges = await s.Api.GetAsync("v1/edges", ct);
            var servers = await s.Api.GetAsync("v1/servers", ct);
            var policies = await s.Api.GetAsync("v1/policies", ct);
            var secrets = await s.Api.GetAsync("v1/secrets", ct);
            var pending = await s.Api.GetAsync("v1/approvals?state=pending", ct);
            var summary = JsonSerializer.SerializeToElement(new
            {
                api = s.Api.Api.ToString(),
                ca,
                edges = Items(edges, "edges").ToArray(),
                servers = Items(servers, "servers").Length,
                policies = Items(policies, "policies").Length,
                secrets = Items(secrets, "secrets").Length,
                pendingApprovals = Items(pending, "approvals").Length,
            });
            return await s.PrintAsync(summary, (console, _) =>
            {
                console.Write(new Rule("CA").LeftJustified());
                Properties(console, ca);
                console.Write(new Rule("Edges").LeftJustified());
                Table(console, Items(edges, "edges"), ("Name", "name"), ("Joined", "joinedAt"), ("Last SVID", "lastIssuedAt"), ("SVID expires", "svidExpiresAt"), ("Revoked", "revoked"));
                console.Write(new Rule("State").LeftJustified());
                Properties(console, JsonSerializer.SerializeToElement(new
                {
                    servers = Items(servers, "servers").Length,
                    policies = Items(policies, "policies").Length,
                    secrets = Items(secrets, "secrets").Length,
                    pendingApprovals = Items(pending, "approvals").Length,
                }));
            });
        }));
        return command;
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
        var rm = new Command("rm", "Remove a server (its live calls are cut, its approvals cancelled)") { name };
        rm.SetAction(With(io, g, async (s, parse, ct) =>
        {
            await s.Api.DeleteAsync($"v1/servers/{Escape(parse.GetValue(name)!)}", ct);
            s.Console.MarkupLineInterpolated($"Removed server {parse.GetValue(name)}.");
            return ExitCodes.Ok;
        }));
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
        var rm = new Command("rm", "Remove a secret") { name };
        rm.SetAction(With(io, g, async (s, parse, ct) =>
        {
            await s.Api.DeleteAsync($"v1/secrets/{Escape(parse.GetValue(name)!)}", ct);
            s.Console.MarkupLineInterpolated($"Removed secret {parse.GetValue(name)}.");
            return ExitCodes.Ok;
        }));
        command.Subcommands.Add(ls);
        command.Subcommands.Add(put);
        command.Subcommands.Add(rm);
        return command;
    }

    private static Command DecideCommand(CliIo io, Globals g)
    {
        var workload = new Option<string>("--workload") { Description = "The caller's SPIFFE ID", Required = true };
        var server = new Option<string>("--server") { Description = "The MCP server", Required = true };
        var tool = new Option<string?>("--tool") { Description = "The tool (for tools/call)" };
        var method = new Option<string>("--method") { Description = "The MCP method", DefaultValueFactory = _ => "tools/call" };
        var arguments = new Option<string?>("--args") { Description = "The call's arguments as a JSON object" };
        var command = new Command("decide", "What-if: would this call be allowed, and by which rule? Exit 0 allowed, 1 denied") { workload, server, tool, method, arguments };
        command.SetAction(With(io, g, async (s, parse, ct) =>
        {
            JsonElement? args = null;
            if (parse.GetValue(arguments) is { } json)
            {
                try
                {
                    args = JsonDocument.Parse(json).RootElement.Clone();
                }
                catch (JsonException ex)
                {
                    throw new UsageException("--args is not JSON: " + ex.Message);
                }
                if (args.Value.ValueKind != JsonValueKind.Object)
                {
                    throw new UsageException("--args must be a JSON object");
                }
            }
            var decision = await s.Api.PostAsync("v1/decisions", JsonSerializer.Serialize(new
            {
                workload = parse.GetValue(workload),
                server = parse.GetValue(server),
                method = parse.GetValue(method),
                name = parse.GetValue(tool),
                arguments = args,
            }), ct);
            var allowed = decision.TryGetProperty("allowed", out var a) && a.ValueKind == JsonValueKind.True;
            await s.PrintAsync(decision, (console, d) =>
            {
                var rule = Text(d, "policy") is { Length: > 0 } policy ? $" by {policy} rule {Text(d, "rule")}" : "";
                console.MarkupLine($"{(allowed ? "[green]allowed[/]" : "[red]denied[/]")} ({Markup.Escape(Text(d, "reason"))}){Markup.Escape(rule)}, catalog version {Markup.Escape(Text(d, "version"))}");
            });
            return allowed ? ExitCodes.Ok : ExitCodes.Refused;
        }));
        return command;
    }

    private static Command AuditCommand(CliIo io, Globals g)
    {
        var workload = new Option<string?>("--workload") { Description = "Only this caller" };
        var server = new Option<string?>("--server") { Description = "Only this server" };
        var decision = new Option<string?>("--decision") { Description = "allow or deny" };
        decision.AcceptOnlyFromAmong("allow", "deny");
        var limit = new Option<int>("--limit") { Description = "How many records (newest first)", DefaultValueFactory = _ => 20 };
        var follow = new Option<bool>("--follow") { Description = "Keep printing new records as they come (Ctrl-C to stop)" };
        var tail = new Command("tail", "The latest audit records, and with --follow the ones that follow") { workload, server, decision, limit, follow };
        tail.SetAction(With(io, g, async (s, parse, ct) =>
        {
            var query = string.Join('&', new[] { ("workload", parse.GetValue(workload)), ("server", parse.GetValue(server)), ("decision", parse.GetValue(decision)) }
                .Where(q => q.Item2 is not null).Select(q => $"{q.Item1}={Escape(q.Item2!)}").Append($"limit={Math.Clamp(parse.GetValue(limit), 1, 1000)}"));
            var seen = new HashSet<string>(StringComparer.Ordinal);
            var first = true;
            do
            {
                var page = await s.Api.GetAsync("v1/audit?" + query, ct);
                var fresh = Items(page, "records").Where(r => seen.Add(Text(r, "id"))).Reverse().ToList();
                if (s.Json)
                {
                    foreach (var record in fresh)
                    {
                        await io.Out.WriteLineAsync(record.GetRawText());
                    }
                }
                else if (fresh.Count > 0 || first)
                {
                    var table = new Table().Border(TableBorder.Simple);
                    foreach (var header in AuditHeaders)
                    {
                        table.AddColumn(new TableColumn(header).NoWrap());
                    }
                    foreach (var record in fresh)
                    {
                        var allowed = record.TryGetProperty("allowed", out var a) && a.ValueKind == JsonValueKind.True;
                        table.AddRow(Markup.Escape(Text(record, "time")), Markup.Escape(Text(record, "workload")), Markup.Escape(Text(record, "server")),
                            Markup.Escape(Text(record, "method")), Markup.Escape(Text(record, "name")), allowed ? "[green]allow[/]" : "[red]deny[/]", Markup.Escape(Text(record, "reason")));
                    }
                    s.Console.Write(table);
                }
                first = false;
                if (parse.GetValue(follow))
                {
                    await Task.Delay(TimeSpan.FromSeconds(1), ct);
                }
            }
            while (parse.GetValue(follow) && !ct.IsCancellationRequested);
            return ExitCodes.Ok;
        }));
        var command = new Command("audit", "The audit trail");
        command.Subcommands.Add(tail);
        return command;
    }

    private static readonly string[] AuditHeaders = ["Time", "Workload", "Server", "Method", "Name", "Decision", "Reason"];

    private static Command ApprovalsCommand(CliIo io, Globals g)
    {
        var id = new Argument<string>("id") { Description = "The approval's id (apr_…)" };
        var state = new Option<string?>("--state") { Description = "pending, approved, denied, consumed, expired or cancelled" };
        var command = new Command("approvals", "Calls waiting for an admin's approval");
        var ls = new Command("ls", "List approval requests") { state };
        ls.SetAction(With(io, g, async (s, parse, ct) => await s.PrintAsync(
            await s.Api.GetAsync("v1/approvals" + (parse.GetValue(state) is { } only ? "?state=" + Escape(only) : ""), ct), (console, answer) =>
            Table(console, Items(answer, "approvals"), ("Id", "id"), ("State", "state"), ("Workload", "workload"), ("Server", "server"), ("Tool", "tool"), ("Expires", "expiresAt")))));
        command.Subcommands.Add(ls);
        foreach (var verb in new[] { "approve", "deny" })
        {
            var decide = new Command(verb, verb == "approve" ? "Approve a pending call: it is forwarded once" : "Deny a pending call") { id };
            decide.SetAction(With(io, g, async (s, parse, ct) => await s.PrintAsync(
                await s.Api.PostAsync($"v1/approvals/{Escape(parse.GetValue(id)!)}:{verb}", null, ct),
                (console, approval) => console.MarkupLineInterpolated($"{Text(approval, "id")} is {Text(approval, "state")}: {Text(approval, "workload")} → {Text(approval, "server")} {Text(approval, "tool")}"))));
            command.Subcommands.Add(decide);
        }
        return command;
    }

    private static Command ToolsCommand(CliIo io, Globals g)
    {
        var server = new Argument<string>("server") { Description = "The MCP server" };
        var digest = new Option<string>("--digest") { Description = "The reviewed set's currentDigest (from tools diff)", Required = true };
        var list = new Option<string?>("--list") { Description = "tools (default), prompts or resourceTemplates" };
        var command = new Command("tools", "A server's tool lock: what changed since the approval, and approving what was reviewed");
        var diff = new Command("diff", "Approved against last seen, per list and item") { server };
        diff.SetAction(With(io, g, async (s, parse, ct) => await s.PrintAsync(await s.Api.GetAsync($"v1/servers/{Escape(parse.GetValue(server)!)}/tools", ct), (console, report) =>
        {
            console.MarkupLineInterpolated($"Tool lock: {Text(report, "mode")}");
            if (report.TryGetProperty("lists", out var lists) && lists.ValueKind == JsonValueKind.Object)
            {
                foreach (var entry in lists.EnumerateObject())
                {
                    console.Write(new Rule($"{Markup.Escape(entry.Name)}: current {Markup.Escape(Text(entry.Value, "currentDigest"))}").LeftJustified());
                    Table(console, Items(entry.Value, "items").Select(i => JsonSerializer.SerializeToElement(new
                    {
                        name = Text(i, "name"),
                        status = Text(i, "status"),
                        fields = i.TryGetProperty("diff", out var d) && d.ValueKind == JsonValueKind.Object ? string.Join(", ", d.EnumerateObject().Select(f => f.Name)) : "",
                    })), ("Name", "name"), ("Status", "status"), ("Changed fields", "fields"));
                }
            }
        })));
        var approve = new Command("approve", "Approve the set that was reviewed (refused if it changed since)") { server, digest, list };
        approve.SetAction(With(io, g, async (s, parse, ct) => await s.PrintAsync(
            await s.Api.PostAsync($"v1/servers/{Escape(parse.GetValue(server)!)}/tools:approve", JsonSerializer.Serialize(new { digest = parse.GetValue(digest), list = parse.GetValue(list) }), ct),
            (console, _) => console.MarkupLineInterpolated($"Approved the reviewed {parse.GetValue(list) ?? "tools"} of {parse.GetValue(server)}."))));
        command.Subcommands.Add(diff);
        command.Subcommands.Add(approve);
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

    private static Command PostureCommand(CliIo io, Globals g)
    {
        var command = new Command("posture", "Security findings over the fabric's state and recent audit, with fixes and OWASP NHI / NIST SP 800-207 items");
        command.SetAction(With(io, g, async (s, _, ct) => await s.PrintAsync(await s.Api.GetAsync("v1/posture", ct), (console, report) =>
        {
            var findings = Items(report, "findings");
            console.MarkupLineInterpolated($"{findings.Length} finding(s) over the fabric's state and {Text(report, "auditRecordsRead")} recent audit records.");
            Table(console, findings.Select(f => JsonSerializer.SerializeToElement(new
            {
                severity = Text(f, "severity"),
                title = Text(f, "title"),
                objects = Text(f, "objects"),
                fix = Text(f, "fix"),
            })), ("Severity", "severity"), ("Finding", "title"), ("Objects", "objects"), ("Fix", "fix"));
        })));
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
