using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using Fabric.AppHost.Tests.Fixtures;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace Fabric.AppHost.Tests;

/// <summary>
/// The README's <c>dotnet run --project AppHost/Fabric.AppHost</c>, end to end: the real AppHost with
/// its real silo, edge, demo MCP server and demo agent as separate processes under DCP, and the
/// audit log as the witness that the agent's calls crossed the edge and were decided by identity.
/// <code>
///  test ─ start AppHost ─► silo, edge, demo-mcp, demo-agent healthy
///       └─ poll GET /v1/audit (admin token) ─► allowed echo + denied delete_all_files (explicit-deny)
///       └─ dispose ─► every child process gone (fixed ports free again)
/// </code>
/// Runs as root without a developer certificate: the testing builder disables the dashboard and
/// does not apply the AppHost's launch profile environment, so nothing needs
/// ASPIRE_ALLOW_UNSECURED_TRANSPORT, and the edge serves the fabric CA's certificate
/// (AppHost.cs: WithoutHttpsCertificate), never a developer certificate.
/// </summary>
[Collection(FixedPortsCollection.Name)]
public sealed class AppHostSmokeTests(ITestOutputHelper output)
{
    private const string DemoWorkload = "spiffe://fabric.local/agents/demo";
    private const string StdioWorkload = "spiffe://fabric.local/mcp/demo-stdio";
    private static readonly string[] Resources = ["silo", "edge", "demo-mcp", "demo-saas-api", "demo-agent"];
    private static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(2);
    private static readonly TimeSpan AuditTimeout = TimeSpan.FromMinutes(2);
    private static readonly TimeSpan StopTimeout = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(500);

    [Fact]
    public async Task AppHost_runs_a_working_fabric_whose_audit_shows_the_demo_agents_allowed_and_denied_calls()
    {
        AssertFixedPortsFree("before the AppHost starts: another fabric is running on this machine");
        var total = Stopwatch.StartNew();

        // A known token (the AppHost otherwise generates one per run) so the test can call /v1 and
        // then prove the value never reaches the audit log.
        var adminToken = $"smoke-{Guid.NewGuid():N}";
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.Fabric_AppHost>(
            [$"Parameters:fabric-admin-token={adminToken}"]);
        builder.Services.AddLogging(logging => logging.AddProvider(new TestOutputLoggerProvider(output)));

        var app = await builder.BuildAsync();
        await using (app)
        {
            using (var start = new CancellationTokenSource(StartTimeout))
            {
                await app.StartAsync(start.Token);
                foreach (var resource in Resources)
                {
                    // StopOnResourceUnavailable: a resource that fails to start or exits fails the
                    // test at once instead of after the timeout.
                    await app.ResourceNotifications.WaitForResourceHealthyAsync(resource, WaitBehavior.StopOnResourceUnavailable, start.Token);
                }
            }
            var started = total.Elapsed;

            using var api = app.CreateHttpClient("silo", "http");
            api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", adminToken);
            var audit = await WaitForDemoRoundInAuditAsync(app, api, adminToken);
            var audited = total.Elapsed;

            Assert.Contains(audit.Records, r => r is { Method: "tools/call", Name: "echo", Allowed: true, Workload: DemoWorkload });
            Assert.Contains(audit.Records, r => r is { Name: "delete_all_files", Allowed: false, Reason: "explicit-deny", Workload: DemoWorkload });
            Assert.DoesNotContain(adminToken, audit.Json, StringComparison.Ordinal);
            // The stdio half: the launched server's outbound call, keyed at the edge, a child of the agent's call.
            var call = Assert.Single(audit.Records, r => r is { Name: "call_api", Allowed: true, Workload: DemoWorkload } && audit.Records.Any(e => e.ParentRecordId == r.Id));
            Assert.Contains(audit.Records, r => r is { Kind: "egress", Server: "demo-saas", Allowed: true, Workload: StdioWorkload } && r.ParentRecordId == call.Id);
            // The console has something real on every page: here, the call the demo policy holds for a person (issue 13 §6).
            // The agent asks for it as each session starts, before its first round: it is pending by now.
            var pending = await api.GetFromJsonAsync<JsonElement>("/v1/approvals?state=pending");
            Assert.Contains(pending.GetProperty("approvals").EnumerateArray(), a =>
                a.GetProperty("tool").GetString() == "archive_files" && a.GetProperty("workload").GetString() == DemoWorkload);
            using (var browser = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = api.BaseAddress })
            {
                using var console = await browser.GetAsync("/console");
                Assert.Equal(HttpStatusCode.Redirect, console.StatusCode);
                Assert.Contains("/console/login", console.Headers.Location!.OriginalString, StringComparison.Ordinal);
            }

            using (var stop = new CancellationTokenSource(StopTimeout))
            {
                await app.StopAsync(stop.Token);
            }
            output.WriteLine($"timing: resources healthy {started.TotalSeconds:F1} s, audit witnessed {audited.TotalSeconds:F1} s, stopped {total.Elapsed.TotalSeconds:F1} s");
        }

        // DcpPublisher:DeleteResourcesOnShutdown (set by the testing builder) stops every child
        // process on dispose; their fixed ports being free again is the observable proof.
        await WaitForFixedPortsFreeAsync();
        output.WriteLine($"timing: disposed {total.Elapsed.TotalSeconds:F1} s");
    }

    /// <summary>
    /// Polls the audit log until one demo round (the agent calls every ~2 s once it has configured
    /// the fabric) is in it. The agent is an external process with no completion signal of its own
    /// and the edge ships audit in background batches, so polling the API with a deadline is the
    /// honest wait here; the deadline bounds it.
    /// </summary>
    private async Task<AuditPage> WaitForDemoRoundInAuditAsync(DistributedApplication app, HttpClient api, string adminToken)
    {
        using var deadline = new CancellationTokenSource(AuditTimeout);
        // A resource without a health check (edge, demo-agent) is "healthy" once started, so it can
        // still die afterwards: stop waiting the moment any of the four reaches a terminal state.
        var exited = Task.WhenAny(Resources.Select(resource => app.ResourceNotifications.WaitForResourceAsync(
            resource, e => KnownResourceStates.TerminalStates.Contains(e.Snapshot.State?.Text), deadline.Token)));
        var round = PollAuditAsync(api, adminToken, deadline);
        if (await Task.WhenAny(round, exited) == exited && await exited is { IsCompletedSuccessfully: true } ended)
        {
            var e = await ended;
            await deadline.CancelAsync();
            Assert.Fail($"Resource '{e.Resource.Name}' reached '{e.Snapshot.State?.Text}' (exit code {e.Snapshot.ExitCode?.ToString(CultureInfo.InvariantCulture) ?? "none"}) before the demo round reached the audit; its log is in the test output.");
        }
        await deadline.CancelAsync();
        return await round;
    }

    private async Task<AuditPage> PollAuditAsync(HttpClient api, string adminToken, CancellationTokenSource deadline)
    {
        var last = AuditPage.Empty;
        var polls = 0;
        try
        {
            while (true)
            {
                polls++;
                try
                {
                    using var response = await api.GetAsync(new Uri("/v1/audit?limit=100", UriKind.Relative), deadline.Token);
                    // A 401 means the parameter never reached the silo: no amount of waiting fixes that.
                    Assert.NotEqual(HttpStatusCode.Unauthorized, response.StatusCode);
                    if (response.IsSuccessStatusCode)
                    {
                        last = AuditPage.Parse(await response.Content.ReadAsStringAsync(deadline.Token));
                        Assert.DoesNotContain(adminToken, last.Json, StringComparison.Ordinal);
                        if (last.Records.Any(r => r is { Method: "tools/call", Name: "echo", Allowed: true, Workload: DemoWorkload })
                            && last.Records.Any(r => r is { Name: "delete_all_files", Allowed: false, Reason: "explicit-deny", Workload: DemoWorkload })
                            && last.Records.Any(r => r is { Kind: "egress", Allowed: true, Workload: StdioWorkload, ParentRecordId: not null }))
                        {
                            output.WriteLine($"audit: demo round witnessed after {polls} polls, {last.Records.Count} records");
                            return last;
                        }
                    }
                }
                catch (HttpRequestException ex)
                {
                    output.WriteLine($"audit poll {polls}: {ex.Message}");
                }
                await Task.Delay(PollInterval, deadline.Token);
            }
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
            Assert.Fail($"No allowed echo, denied delete_all_files from {DemoWorkload} and egress call of {StdioWorkload} in the audit within {AuditTimeout} ({polls} polls). Last page: {last.Json}");
            throw;
        }
    }

    private static void AssertFixedPortsFree(string when)
    {
        var busy = FixedPortsCollection.Ports.Where(IsListening).ToArray();
        Assert.True(busy.Length == 0, $"Fixed ports {string.Join(", ", busy)} are in use {when}.");
    }

    private static async Task WaitForFixedPortsFreeAsync()
    {
        using var deadline = new CancellationTokenSource(StopTimeout);
        while (FixedPortsCollection.Ports.Any(IsListening) && !deadline.IsCancellationRequested)
        {
            await Task.Delay(PollInterval, CancellationToken.None);
        }
        AssertFixedPortsFree("after the AppHost was disposed: a child process outlived it");
    }

    private static bool IsListening(int port)
    {
        try
        {
            using var client = new TcpClient();
            client.Connect(IPAddress.Loopback, port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>The fields of the silo's <c>AuditRecord</c> this test reads (the API serves camelCase).</summary>
    private sealed record AuditEntry(string? Workload, string? Method, string? Name, bool Allowed, string? Reason,
        string? Id = null, string? Server = null, string? Kind = null, string? ParentRecordId = null);

    private sealed record AuditPage(string Json, IReadOnlyList<AuditEntry> Records)
    {
        public static readonly AuditPage Empty = new("(none)", []);

        public static AuditPage Parse(string json)
        {
            using var document = JsonDocument.Parse(json);
            var records = document.RootElement.GetProperty("records").EnumerateArray()
                .Select(r => new AuditEntry(
                    Text(r, "workload"), Text(r, "method"), Text(r, "name"),
                    r.TryGetProperty("allowed", out var allowed) && allowed.ValueKind == JsonValueKind.True,
                    Text(r, "reason"), Text(r, "id"), Text(r, "server"), Text(r, "kind"), Text(r, "parentRecordId")))
                .ToList();
            return new AuditPage(json, records);
        }

        private static string? Text(JsonElement record, string property) =>
            record.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
    }
}
