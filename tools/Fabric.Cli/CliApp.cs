using System.CommandLine;
using System.Text.Json;
using Spectre.Console;

namespace Fabric.Cli;

/// <summary>
/// The <c>fabric</c> command line (issue 13 §1): every verb is a thin, readable call of the management API. Read verbs
/// print tables (or the API's JSON with <c>--output json</c>); failures print the API's problem details readably and
/// exit with <see cref="ExitCodes"/>.
/// </summary>
public static partial class CliApp
{
    /// <summary>The options every verb takes; made per run (an option belongs to one command tree).</summary>
    private sealed class Globals
    {
        public Option<string?> Api { get; } = new("--api") { Description = "The management API (default: FABRIC_API, then the login)", Recursive = true };
        public Option<string?> TokenFile { get; } = new("--token-file") { Description = "A file holding the admin token (default: FABRIC_ADMIN_TOKEN, then the login's file)", Recursive = true };
        public Option<string> Output { get; } = new("--output", "-o") { Description = "table (default) or json", Recursive = true, DefaultValueFactory = _ => "table" };

        public Globals() => Output.AcceptOnlyFromAmong("table", "json");
    }

    public static async Task<int> RunAsync(string[] args, CliIo io, CancellationToken cancellationToken = default)
    {
        var g = new Globals();
        var root = new RootCommand("fabric: drive a Fabric cluster through its management API") { g.Api, g.TokenFile, g.Output };
        foreach (var command in Commands(io, g))
        {
            root.Subcommands.Add(command);
        }
        var parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            foreach (var error in parsed.Errors)
            {
                await io.Error.WriteLineAsync(error.Message);
            }
            return ExitCodes.Usage;
        }
        return await parsed.InvokeAsync(new InvocationConfiguration { Output = io.Out, Error = io.Error, EnableDefaultExceptionHandler = false }, cancellationToken);
    }

    private static IEnumerable<Command> Commands(CliIo io, Globals g) =>
    [
        LoginCommand(io, g), StatusCommand(io, g), ServerCommand(io, g), PolicyCommand(io, g), SecretCommand(io, g), DecideCommand(io, g),
        AuditCommand(io, g), ApprovalsCommand(io, g), ToolsCommand(io, g), SvidCommand(io, g), LeaseCommand(io, g), ApplyCommand(io, g), ExportCommand(io, g), PostureCommand(io, g),
    ];

    /// <summary>The resolved connection of one invocation.</summary>
    private sealed record Session(ApiClient Api, CliIo Io, bool Json, IAnsiConsole Console)
    {
        public async Task<int> PrintAsync(JsonElement answer, Action<IAnsiConsole, JsonElement> table)
        {
            if (Json)
            {
                await Io.Out.WriteLineAsync(JsonSerializer.Serialize(answer, Indented));
            }
            else
            {
                table(Console, answer);
            }
            return ExitCodes.Ok;
        }
    }

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    /// <summary>Runs <paramref name="body"/> with the connection the options, environment and login give; maps failures to exit codes.</summary>
    private static Func<ParseResult, CancellationToken, Task<int>> With(CliIo io, Globals g, Func<Session, ParseResult, CancellationToken, Task<int>> body) =>
        async (parse, cancellationToken) =>
        {
            var config = CliConfig.Load(io.ConfigDirectory);
            var api = parse.GetValue(g.Api) ?? io.Environment("FABRIC_API") ?? config?.Api;
            if (api is null || !Uri.TryCreate(api.EndsWith('/') ? api : api + "/", UriKind.Absolute, out var apiUri) || apiUri.Scheme is not ("http" or "https"))
            {
                await io.Error.WriteLineAsync(api is null ? "No API: pass --api, set FABRIC_API, or run 'fabric login --api URL'." : $"'{api}' is not an http(s) URL.");
                return ExitCodes.Usage;
            }
            string? token;
            try
            {
                token = ReadToken(parse.GetValue(g.TokenFile), io.Environment("FABRIC_ADMIN_TOKEN"), config?.TokenFile);
            }
            catch (IOException ex)
            {
                await io.Error.WriteLineAsync("The admin token could not be read: " + ex.Message);
                return ExitCodes.Usage;
            }
            using var client = new ApiClient(apiUri, token, io.Handler);
            var session = new Session(client, io, parse.GetValue(g.Output) == "json", io.CreateConsole());
            try
            {
                return await body(session, parse, cancellationToken);
            }
            catch (ApiException ex)
            {
                await io.Error.WriteLineAsync(ex.Message);
                return ex.ExitCode;
            }
            catch (UsageException ex)
            {
                await io.Error.WriteLineAsync(ex.Message);
                return ExitCodes.Usage;
            }
        };

    private static string? ReadToken(string? optionFile, string? environmentToken, string? loginFile)
    {
        if (optionFile is not null)
        {
            return File.ReadAllText(optionFile).Trim();
        }
        if (!string.IsNullOrWhiteSpace(environmentToken))
        {
            return environmentToken.Trim();
        }
        return loginFile is not null && File.Exists(loginFile) ? File.ReadAllText(loginFile).Trim() : null;
    }

    /// <summary>The command line is wrong in a way the parser cannot see (bad JSON in --args, an unreadable --file).</summary>
    private sealed class UsageException(string message) : Exception(message);

    private static string Escape(string segment) => Uri.EscapeDataString(segment);

    private static string Text(JsonElement element, string property) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(property, out var value)
            ? value.ValueKind switch
            {
                JsonValueKind.String => value.GetString() ?? "",
                JsonValueKind.Null or JsonValueKind.Undefined => "",
                JsonValueKind.Array => string.Join(", ", value.EnumerateArray().Select(v => v.ValueKind == JsonValueKind.String ? v.GetString() : v.ToString())),
                _ => value.ToString(),
            }
            : "";

    private static JsonElement[] Items(JsonElement answer, string property) =>
        answer.ValueKind == JsonValueKind.Object && answer.TryGetProperty(property, out var items) && items.ValueKind == JsonValueKind.Array
            ? [.. items.EnumerateArray()]
            : answer.ValueKind == JsonValueKind.Array ? [.. answer.EnumerateArray()] : [];

    /// <summary>A table of <paramref name="rows"/> with one column per (header, property).</summary>
    private static void Table(IAnsiConsole console, IEnumerable<JsonElement> rows, params (string Header, string Property)[] columns)
    {
        var table = new Table().Border(TableBorder.Simple);
        foreach (var (header, _) in columns)
        {
            table.AddColumn(new TableColumn(header).NoWrap());
        }
        foreach (var row in rows)
        {
            table.AddRow([.. columns.Select(c => Markup.Escape(Text(row, c.Property)))]);
        }
        console.Write(table);
    }

    private static void Properties(IAnsiConsole console, JsonElement element)
    {
        var grid = new Grid().AddColumn(new GridColumn().NoWrap()).AddColumn();
        foreach (var property in element.EnumerateObject())
        {
            grid.AddRow(Markup.Escape(property.Name), Markup.Escape(property.Value.ValueKind == JsonValueKind.String ? property.Value.GetString()! : property.Value.ToString()));
        }
        console.Write(grid);
    }

    /// <summary>A JSON document from a file (<c>-</c> for stdin), checked to parse before it is sent.</summary>
    private static async Task<string> ReadJsonFileAsync(CliIo io, string file, CancellationToken cancellationToken)
    {
        string text;
        try
        {
            text = file == "-" ? await io.In.ReadToEndAsync(cancellationToken) : await File.ReadAllTextAsync(file, cancellationToken);
        }
        catch (IOException ex)
        {
            throw new UsageException($"'{file}' could not be read: {ex.Message}");
        }
        try
        {
            using var _ = JsonDocument.Parse(text);
        }
        catch (JsonException ex)
        {
            throw new UsageException($"'{file}' is not JSON: {ex.Message}");
        }
        return text;
    }
}
