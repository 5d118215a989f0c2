namespace Fabric.Cli;

/// <summary>The CLI's exit codes (the README lists them): scripts branch on these, not on output.</summary>
public static class ExitCodes
{
    public const int Ok = 0;
    /// <summary>The fabric refused: a 4xx from the API, or a what-if that came out denied.</summary>
    public const int Refused = 1;
    /// <summary>The command line itself is wrong (unknown verb, missing option, bad JSON).</summary>
    public const int Usage = 2;
    /// <summary>The management API could not be reached or failed (connection refused, TLS, timeout, 5xx).</summary>
    public const int Unreachable = 3;
}
