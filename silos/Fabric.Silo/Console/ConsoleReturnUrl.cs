namespace Fabric.Silo.Console;

/// <summary>Where sign-in may send the browser back to: a console or dashboard path of this host, nothing else.</summary>
public static class ConsoleReturnUrl
{
    public static string Safe(string? returnUrl)
    {
        // "//evil.example", "/\evil.example" and "https://…" leave the host; so does anything a browser may read as a scheme.
        if (string.IsNullOrEmpty(returnUrl) || returnUrl.Length > 2048 || returnUrl[0] != '/'
            || returnUrl.StartsWith("//", StringComparison.Ordinal) || returnUrl.Contains('\\', StringComparison.Ordinal)
            || returnUrl.Any(char.IsControl))
        {
            return "/console";
        }
        var path = returnUrl.Split('?', '#')[0];
        return path is not (ConsoleHosting.LoginPath or "/console/logout") && (path is "/console" or "/dashboard" || path.StartsWith("/console/", StringComparison.Ordinal) || path.StartsWith("/dashboard/", StringComparison.Ordinal))
            ? returnUrl
            : "/console";
    }
}
