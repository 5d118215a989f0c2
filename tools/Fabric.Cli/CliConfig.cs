using System.Text.Json;

namespace Fabric.Cli;

/// <summary>
/// What <c>fabric login</c> keeps (<c>cli.json</c> in the config directory, mode 0600): the API's address and a
/// reference to the admin token (a file path), never the token itself.
/// </summary>
public sealed record CliConfig(string Api, string? TokenFile)
{
    public const string FileName = "cli.json";
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    public static CliConfig? Load(string directory)
    {
        var path = Path.Combine(directory, FileName);
        if (!File.Exists(path))
        {
            return null;
        }
        try
        {
            return JsonSerializer.Deserialize<CliConfig>(File.ReadAllText(path), Json);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    public void Save(string directory)
    {
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, FileName);
        using var stream = PrivateFiles.Create(path);
        JsonSerializer.Serialize(stream, this, Json);
    }
}
