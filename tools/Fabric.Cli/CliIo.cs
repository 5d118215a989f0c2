using Spectre.Console;

namespace Fabric.Cli;

/// <summary>
/// Everything the CLI touches outside itself: its output streams, its input (secret values come from stdin or a file,
/// never an argument), its environment and where it keeps its login. Tests pass their own; <see cref="System"/> is the
/// real one.
/// </summary>
public sealed record CliIo(TextWriter Out, TextWriter Error, TextReader In, Func<string, string?> Environment, string ConfigDirectory,
    HttpMessageHandler? Handler = null, int Width = 120, bool Terminal = false)
{
    public static CliIo System => new(Console.Out, Console.Error, Console.In, global::System.Environment.GetEnvironmentVariable,
        Path.Combine(global::System.Environment.GetFolderPath(global::System.Environment.SpecialFolder.ApplicationData,
            global::System.Environment.SpecialFolderOption.Create), "fabric"),
        Width: Console.IsOutputRedirected ? 120 : Math.Max(80, Console.WindowWidth),
        Terminal: !Console.IsOutputRedirected);

    /// <summary>A Spectre console over <see cref="Out"/>: colour only on a terminal, a fixed width (golden tables stay stable).</summary>
    public IAnsiConsole CreateConsole()
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = Terminal ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = Terminal ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
            Out = new AnsiConsoleOutput(Out),
        });
        console.Profile.Width = Width;
        return console;
    }
}
