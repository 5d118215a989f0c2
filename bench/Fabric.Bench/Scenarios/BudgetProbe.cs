using System.Diagnostics;
using Fabric.Contracts.Policy;
using Fabric.Edge.Policy;

namespace Fabric.Bench.Scenarios;

/// <summary>
/// What a budget costs a call on its own (issue 12 §4): finding the budgets a tool call is charged to
/// (<see cref="PolicyEvaluator.ChargesOf"/>) and taking one call from this edge's slice (<see cref="Budgets"/>), on one
/// thread, against the edge's own CPU per warm request. Slices come from the real budget grain in this run.
/// </summary>
internal static class BudgetProbe
{
    public static async Task<double> RunAsync(Budgets budgets, int iterations, CancellationToken ct)
    {
        var grant = new WorkloadGrant(1, true, [new GrantedRule("bench-probe", 0, new PolicyRule("bench-limited", PolicyEffect.Allow, ["echo", "tool-0*"])
        {
            Limit = new CallLimit(CallLimit.MaxCalls, "1d"),
        })]);
        var call = new McpCall(McpMethods.ToolsCall, "echo", new Dictionary<string, string> { ["text"] = "hi" });
        var workload = "spiffe://bench/probe/" + Guid.NewGuid().ToString("N");
        await MeasureAsync(budgets, grant, workload, call, iterations / 10, ct); // JIT warm-up, first slice
        return await MeasureAsync(budgets, grant, workload, call, iterations, ct);
    }

    private static async Task<double> MeasureAsync(Budgets budgets, WorkloadGrant grant, string workload, McpCall call, int iterations, CancellationToken ct)
    {
        var wall = Stopwatch.StartNew();
        for (var i = 0; i < iterations; i++)
        {
            var (outcome, _) = await budgets.ChargeAsync(PolicyEvaluator.ChargesOf(grant, workload, "bench-limited", call), ct);
            if (outcome != ChargeOutcome.Admitted)
            {
                throw new InvalidOperationException($"the probe's budget refused: {outcome}");
            }
        }
        wall.Stop();
        return wall.Elapsed.TotalMicroseconds / iterations;
    }
}
