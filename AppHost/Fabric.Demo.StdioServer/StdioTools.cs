using System.ComponentModel;
using System.Net.Http.Headers;
using ModelContextProtocol.Server;

namespace Fabric.Demo.StdioServer;

/// <summary>
/// The launched demo server's tools. <c>call_api</c> is the point: an outbound HTTPS call made the ordinary way (the
/// process's default proxy and trust store, which the edge set), with the API key's placeholder where the SDK of a
/// real API would want the key; the edge decides the call, splices the key and masks it in the answer.
/// </summary>
internal static class StdioTools
{
    // The default handler: HTTPS_PROXY and SSL_CERT_FILE from the environment the edge built.
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(30) };

    public static McpServerPrimitiveCollection<McpServerTool> Create() =>
    [
        McpServerTool.Create(Echo, new() { Name = "echo", ReadOnly = true }),
        McpServerTool.Create(CallApiAsync, new() { Name = "call_api", OpenWorld = true }),
        McpServerTool.Create(Log, new() { Name = "log_stderr" }),
        McpServerTool.Create(Crash, new() { Name = "crash", Destructive = true }),
    ];

    [Description("Returns the text it was given.")]
    private static string Echo([Description("The text to echo back.")] string text) => text;

    [Description("GETs a URL of the API through the edge's egress leg and returns the status and body.")]
    private static async Task<string> CallApiAsync([Description("The https URL to GET.")] string url, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        // What the server was configured with instead of a key: a placeholder the edge fills on the egress leg.
        if (Environment.GetEnvironmentVariable("API_KEY") is { Length: > 0 } placeholder)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", placeholder);
        }
        try
        {
            using var response = await Http.SendAsync(request, cancellationToken);
            return $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync(cancellationToken)}";
        }
        catch (HttpRequestException ex)
        {
            return "failed: " + ex.Message;
        }
    }

    [Description("Writes a line to stderr (which the edge logs, masked).")]
    private static string Log([Description("The line to write.")] string text)
    {
        Console.Error.WriteLine(text);
        return "logged";
    }

    [Description("Exits the process at once (to show the edge restarting it).")]
    private static string Crash()
    {
        Environment.Exit(3);
        return "unreachable";
    }
}
