using System.Diagnostics;
using System.Globalization;

namespace Fabric.Bench.Load;

/// <summary>
/// CPU time of this process (load generator, upstream, baselines, silo and edge all live here) plus
/// any child processes named (nginx master and workers, read from /proc). A scenario's CPU is the
/// delta over its measured window, so the cost of the proxy under test is its number minus direct's.
/// </summary>
internal sealed class CpuMeter(bool includeSelf = true)
{
    private readonly List<int> _children = [];

    /// <summary>The CPU time of one other process (and its children) alone: a pinned proxy's own cost.</summary>
    public static CpuMeter Of(int pid)
    {
        var meter = new CpuMeter(includeSelf: false);
        meter.AddChildTree(pid);
        return meter;
    }
    private static readonly double TicksPerSecond = 100.0; // USER_HZ on Linux

    public void AddChildTree(int pid) => _children.Add(pid);

    public TimeSpan Now()
    {
        var total = TimeSpan.Zero;
        if (includeSelf)
        {
            using var self = Process.GetCurrentProcess();
            total = self.TotalProcessorTime;
        }
        foreach (var pid in _children)
        {
            total += ProcTree(pid);
        }
        return total;
    }

    private static TimeSpan ProcTree(int pid)
    {
        var total = ProcCpu(pid);
        var children = $"/proc/{pid}/task/{pid}/children";
        if (File.Exists(children))
        {
            foreach (var child in File.ReadAllText(children).Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                total += ProcTree(int.Parse(child, CultureInfo.InvariantCulture));
            }
        }
        return total;
    }

    private static TimeSpan ProcCpu(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            // Fields after the ")" that closes the command name: state is field 3; utime 14, stime 15.
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
            return TimeSpan.FromSeconds(ticks / TicksPerSecond);
        }
        catch (IOException)
        {
            return TimeSpan.Zero;
        }
    }
}
