using System.ComponentModel;
using System.Globalization;
using ModelContextProtocol.Server;

namespace Fabric.Demo.McpServer.Tools;

/// <summary>
/// The demo tools: three harmless ones the demo policy allows, one destructive one it denies, and one it lets through
/// only once a person approves that very call (console → Approvals).
/// Nothing here touches the file system; the file tools only describe what they would do.
/// </summary>
[McpServerToolType]
public sealed class DemoTools
{
    private static readonly string[] Conditions = ["sunny", "cloudy", "rainy", "windy", "foggy"];

    [McpServerTool(Name = "echo", ReadOnly = true, Idempotent = true, Destructive = false, OpenWorld = false)]
    [Description("Returns the text it was given.")]
    public static string Echo([Description("The text to echo back.")] string text) => text;

    [McpServerTool(Name = "get_weather", ReadOnly = true, Destructive = false, OpenWorld = false)]
    [Description("Returns a made-up weather report for a city.")]
    public static string GetWeather([Description("The city name.")] string city)
    {
        // Deterministic per city and hour, so repeated demo calls look plausible.
        var seed = StringComparer.OrdinalIgnoreCase.GetHashCode(city) ^ DateTime.UtcNow.Hour;
        var random = new Random(seed);
        var condition = Conditions[random.Next(Conditions.Length)];
        var celsius = random.Next(-5, 33);
        return string.Create(CultureInfo.InvariantCulture, $"{city}: {condition}, {celsius} °C");
    }

    [McpServerTool(Name = "list_files", ReadOnly = true, Destructive = false, OpenWorld = false)]
    [Description("Lists the files in a (simulated) directory.")]
    public static string[] ListFiles([Description("The directory path.")] string path)
    {
        var directory = path.TrimEnd('/');
        return [$"{directory}/notes.txt", $"{directory}/report.pdf", $"{directory}/data.csv"];
    }

    [McpServerTool(Name = "archive_files", ReadOnly = false, Destructive = false, Idempotent = true, OpenWorld = false)]
    [Description("Archives a (simulated) directory. The demo policy holds each call for an admin's approval.")]
    public static string ArchiveFiles([Description("The directory path.")] string path) =>
        $"(simulated) archived {path.TrimEnd('/')} to {path.TrimEnd('/')}.tar.gz";

    [McpServerTool(Name = "delete_all_files", ReadOnly = false, Destructive = true, Idempotent = true, OpenWorld = false)]
    [Description("Deletes every file under a directory (simulated). Destructive: the demo policy denies it.")]
    public static string DeleteAllFiles([Description("The directory path.")] string path) =>
        // Simulated on purpose: if a misconfigured policy ever lets this through, nothing is lost.
        $"(simulated) deleted every file under {path}";
}
