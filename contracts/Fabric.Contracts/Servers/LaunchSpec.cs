using System.Collections.Immutable;

namespace Fabric.Contracts.Servers;

/// <summary>
/// A local MCP server the edge launches and speaks to over its stdio (issue 11 §4): the command, its arguments, the
/// declared non-secret environment, where it runs, whether each calling agent gets a process of its own, and how long
/// an idle process lives. The edge starts it with a scrubbed environment whose only way out is the egress proxy, with
/// a per-process proxy credential; the server's <see cref="McpServerDefinition.Identity"/> is its egress identity.
/// </summary>
[GenerateSerializer, Immutable, Alias("fabric.launch-spec")]
public sealed record LaunchSpec(
    [property: Id(0)] string Command,
    [property: Id(1)] ImmutableArray<string> Args,
    [property: Id(2)] ImmutableSortedDictionary<string, string> Env,
    [property: Id(3)] string? WorkingDirectory,
    [property: Id(4)] bool PerWorkload,
    [property: Id(5)] int IdleTimeoutSeconds)
{
    public const int DefaultIdleTimeoutSeconds = 300;

    /// <summary>The scheme of a launched server's <see cref="McpServerDefinition.Upstream"/>: <c>stdio:{name}</c>, the process, not an address.</summary>
    public const string UpstreamScheme = "stdio";

    public static Uri UpstreamFor(string name) => new($"{UpstreamScheme}:{name}");

    /// <summary>Records compare arrays and dictionaries by reference; a launch spec is the same when its content is.</summary>
    public bool Equals(LaunchSpec? other) =>
        other is not null && Command == other.Command && Args.SequenceEqual(other.Args) && Env.SequenceEqual(other.Env)
        && WorkingDirectory == other.WorkingDirectory && PerWorkload == other.PerWorkload && IdleTimeoutSeconds == other.IdleTimeoutSeconds;

    public override int GetHashCode() => HashCode.Combine(Command, Args.Length, Env.Count, WorkingDirectory, PerWorkload, IdleTimeoutSeconds);
}

/// <summary>The <c>launch</c> object of <c>PUT /v1/servers/{name}</c>.</summary>
[System.Text.Json.Serialization.JsonUnmappedMemberHandling(System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow)]
public sealed record LaunchInput(
    string? Command,
    string[]? Args = null,
    Dictionary<string, string>? Env = null,
    string? WorkingDirectory = null,
    bool PerWorkload = false,
    int? IdleTimeoutSeconds = null)
{
    /// <summary>The stored form; call only after validation.</summary>
    public LaunchSpec ToSpec() => new(
        Command ?? throw new InvalidOperationException("the launch spec has not been validated"),
        [.. Args ?? []],
        (Env ?? []).ToImmutableSortedDictionary(StringComparer.Ordinal),
        WorkingDirectory,
        PerWorkload,
        IdleTimeoutSeconds ?? LaunchSpec.DefaultIdleTimeoutSeconds);

    public static LaunchInput From(LaunchSpec spec) =>
        new(spec.Command, [.. spec.Args], spec.Env.ToDictionary(StringComparer.Ordinal), spec.WorkingDirectory, spec.PerWorkload, spec.IdleTimeoutSeconds);
}
