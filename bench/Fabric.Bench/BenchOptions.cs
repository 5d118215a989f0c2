using System.Globalization;

namespace Fabric.Bench;

/// <summary>
/// What one run does. <c>--quick</c> (regression check, &lt; 90 s) shortens every window and shrinks
/// revocation and scale; full mode is the one to quote.
/// </summary>
internal sealed record BenchOptions
{
    public bool Quick { get; init; }
    public string? OutPath { get; init; }
    public int Agents { get; init; } = 32;
    public int OpenLoopRate { get; init; } = 1000;
    public bool SkipNginx { get; init; }

    /// <summary>
    /// <c>--pinned</c> (issue 9 §3): the edge and YARP each in a process of its own on core 1, this process (load
    /// generator, upstream, silo) on core 0; only the headline rows, each proxy's own CPU read from /proc.
    /// </summary>
    public bool Pinned { get; init; }

    /// <summary>
    /// <c>--profile warm|cold|egress &lt;seconds&gt;</c>: only one fabric row for that long (the 1 KiB h2 row with 32 agents
    /// warm or 1 agent cold, or the egress forward proxy's h1.1 row with 32 clients), after printing the process id, so a
    /// profiler (dotnet-trace collect -p, perf record -p) can attach to a steady state.
    /// </summary>
    public (ProfileMode Mode, TimeSpan Duration)? Profile { get; init; }

    /// <summary>Extra host arguments for the silo and the edge (e.g. <c>--OTEL_SDK_DISABLED=true</c>), for what-if runs.</summary>
    public IReadOnlyList<string> FabricArgs { get; init; } = [];

    public TimeSpan WarmUp => Quick ? TimeSpan.FromMilliseconds(500) : TimeSpan.FromSeconds(2);
    public TimeSpan Duration => Quick ? TimeSpan.FromMilliseconds(1600) : TimeSpan.FromSeconds(10);

    /// <summary>The headline rows (direct, YARP, nginx, fabric) run interleaved in this many rounds of <see cref="Duration"/> / rounds.</summary>
    public int HeadlineRounds => Quick ? 3 : 5;
    public int RevocationSamples => Quick ? 40 : 200;
    public int ScaleWorkloads => Quick ? 2_000 : 100_000;

    /// <summary>Every run stops itself: nothing in the harness waits longer than this.</summary>
    public TimeSpan HardLimit => Profile is { } profile ? profile.Duration + TimeSpan.FromMinutes(2)
        : Quick ? TimeSpan.FromSeconds(120) : TimeSpan.FromMinutes(20);

    public static BenchOptions Parse(string[] args)
    {
        var options = new BenchOptions();
        for (var i = 0; i < args.Length; i++)
        {
            options = args[i] switch
            {
                "--quick" => options with { Quick = true },
                "--out" when i + 1 < args.Length => options with { OutPath = args[++i] },
                "--agents" when i + 1 < args.Length => options with { Agents = Math.Clamp(int.Parse(args[++i], CultureInfo.InvariantCulture), 1, 256) },
                "--rate" when i + 1 < args.Length => options with { OpenLoopRate = Math.Clamp(int.Parse(args[++i], CultureInfo.InvariantCulture), 1, 20_000) },
                "--no-nginx" => options with { SkipNginx = true },
                "--pinned" => options with { Pinned = true, SkipNginx = true },
                "--profile" when i + 2 < args.Length => options with
                {
                    SkipNginx = true,
                    Profile = (Enum.Parse<ProfileMode>(args[++i], ignoreCase: true), TimeSpan.FromSeconds(double.Parse(args[++i], CultureInfo.InvariantCulture))),
                },
                "--fabric-arg" when i + 1 < args.Length => options with { FabricArgs = [.. options.FabricArgs, args[++i]] },
                _ => throw new ArgumentException($"unknown argument '{args[i]}' (use --quick, --out <file>, --agents <n>, --rate <rps>, --no-nginx, --pinned, --fabric-arg <host argument>, --profile warm|cold|egress <seconds>)"),
            };
        }
        return options;
    }
}

/// <summary>The row <c>--profile</c> holds steady.</summary>
public enum ProfileMode
{
    Warm,
    Cold,
    Egress,
}
