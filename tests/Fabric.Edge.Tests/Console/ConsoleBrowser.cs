using Microsoft.Playwright;

namespace Fabric.Edge.Tests.Console;

/// <summary>
/// Debian's Chromium (apt package <c>chromium</c>, which <c>.ci/run</c> installs) driven by Playwright for .NET; Playwright
/// never downloads a browser here. The flags keep Chromium off the network it would otherwise call home on.
/// </summary>
internal static class ConsoleBrowser
{
    public const string Executable = "/usr/bin/chromium";

    public static async Task<(IPlaywright Playwright, IBrowser Browser)> LaunchAsync()
    {
        if (!File.Exists(Executable))
        {
            throw new InvalidOperationException($"{Executable} is missing: apt-get install -y chromium (as .ci/run does)");
        }
        var playwright = await Playwright.CreateAsync();
        try
        {
            var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
            {
                ExecutablePath = Executable,
                Headless = true,
                Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"],
            });
            return (playwright, browser);
        }
        catch
        {
            playwright.Dispose();
            throw;
        }
    }

    /// <summary>Where the page screenshots go: <c>console-screenshots/</c> beside the test assembly (a CI artifact).</summary>
    public static string ScreenshotDirectory
    {
        get
        {
            var directory = Path.Combine(AppContext.BaseDirectory, "console-screenshots");
            Directory.CreateDirectory(directory);
            return directory;
        }
    }
}
