using System.CommandLine;
using System.Text.Json;
using Spectre.Console;

namespace Fabric.Cli;

/// <summary>The verbs that operate the fabric: login, status, what-if, audit, approvals, tool locks, posture.</summary>
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
        var command = new Command("status", "The cluster at a glance: silos, secret sources' health, CA, edges (version, last seen, audit backlog), and how many servers, policies, secrets and pending approvals");
        command.SetAction(With(io, g, async (s, _, ct) =>
        {
            var cluster = await s.Api.GetAsync("v1/status", ct);
            var ca = await s.Api.GetAsync("v1/ca", ct);
            var edges = await s.Api.GetAsync("v1/edges", ct);
            var servers = await s.Api.GetAsync("v1/servers", ct);
            var policies = await s.Api.GetAsync("v1/policies", ct);
            var secrets = await s.Api.GetAsync("v1/secrets", ct);
            var pending = await s.Api.GetAsync("v1/approvals?state=pending", ct);
            var summary = JsonSerializer.SerializeToElement(new
            {
                api = s.Api.Api.ToString(),
                silos = Items(cluster, "silos").ToArray(),
                secretSources = Items(cluster, "secretSources").ToArray(),
                ca,
                edges = Items(edges, "edges").ToArray(),
                servers = Items(servers, "servers").Length,
                policies = Items(policies, "policies").Length,
                secrets = Items(secrets, "secrets").Length,
                pendingApprovals = Items(pending, "approvals").Length,
            });
            return await s.PrintAsync(summary, (console, _) =>
            {
                console.Write(new Rule("Silos").LeftJustified());
                Table(console, Items(cluster, "silos"), ("Name", "name"), ("Address", "address"), ("Status", "status"), ("Started", "startedAt"), ("Last alive", "lastAlive"));
                console.Write(new Rule("Secret sources").LeftJustified());
                Table(console, Items(cluster, "secretSources"), ("Source", "source"), ("Healthy", "healthy"), ("Detail", "detail"));
                console.Write(new Rule("CA").LeftJustified());
                Properties(console, ca);
                console.Write(new Rule("Edges").LeftJustified());
                Table(console, Items(edges, "edges"), ("Name", "name"), ("Version", "version"), ("Last seen", "lastSeen"), ("Audit backlog", "auditBacklog"),
                    ("Joined", "joinedAt"), ("Last SVID", "lastIssuedAt"), ("SVID expires", "svidExpiresAt"), ("Revoked", "revoked"));
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
}
