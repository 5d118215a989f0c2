using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Fabric.Edge.Tests.Fixtures;
using ModelContextProtocol;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace Fabric.Edge.Tests.EndToEnd;

/// <summary>
/// An agent's MCP calls through the edge, both transport generations, with the real SDK client and
/// server, real mTLS and the real cluster.
/// </summary>
[Collection(FabricCollection.Name)]
public sealed class EdgeEndToEndTests(FabricFixture fabric)
{
    private static object Allow(string server, params string[] tools) => new { server, effect = "allow", tools };

    private static object Deny(string server, params string[] tools) => new { server, effect = "deny", tools };

    public static TheoryData<ProtocolGeneration> Generations => [ProtocolGeneration.Sessions2025, ProtocolGeneration.Stateless2026];

    [Theory]
    [MemberData(nameof(Generations))]
    public async Task Allowed_call_reaches_upstream_with_the_spliced_credential_and_not_the_agents_own(ProtocolGeneration generation)
    {
        var scenario = await Scenario.CreateAsync(fabric, s => [Allow(s, "echo")]);
        await using var agent = await scenario.ConnectAsync(generation);
        agent.HttpClient.DefaultRequestHeaders.Authorization = new("Bearer", "agents-own-token");

        var result = await agent.Client.CallToolAsync("echo", new Dictionary<string, object?> { ["text"] = "hello" });

        Assert.Equal("hello", Assert.IsType<TextContentBlock>(Assert.Single(result.Content)).Text);
        var call = fabric.Upstream.Requests.Last(r => r.Body.Contains("\"echo\"", StringComparison.Ordinal));
        Assert.Equal("Bearer " + scenario.SecretValue, call.Header("Authorization"));
        Assert.DoesNotContain(fabric.Upstream.Requests, r => r.Header("Authorization")?.Contains("agents-own-token", StringComparison.Ordinal) == true);
        if (agent.Client.SessionId is { } session)
        {
            // Every message of the session (POSTs, the GET event stream) carries the spliced credential.
            Assert.All(fabric.Upstream.Requests.Where(r => r.Header("Mcp-Session-Id") == session),
                r => Assert.Equal("Bearer " + scenario.SecretValue, r.Header("Authorization")));
        }
    }

    [Theory]
    [MemberData(nameof(Generations))]
    public async Task Denied_tool_gets_a_forbidden_json_rpc_error_and_never_reaches_upstream(ProtocolGeneration generation)
    {
        var scenario = await Scenario.CreateAsync(fabric, s => [Allow(s, "*"), Deny(s, "delete_*")]);
        await using var agent = await scenario.ConnectAsync(generation);
        var path = "/" + Guid.NewGuid().ToString("N");

        var error = await Assert.ThrowsAsync<McpProtocolException>(() =>
            agent.Client.CallToolAsync("delete_all_files", new Dictionary<string, object?> { ["path"] = path }).AsTask());

        Assert.Equal(-32003, (int)error.ErrorCode);
        Assert.Contains("explicit-deny", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(fabric.Upstream.Requests, r => r.Body.Contains(path, StringComparison.Ordinal));
        var audit = await fabric.AuditAsync($"workload={Uri.EscapeDataString(scenario.Agent)}&decision=deny");
        var record = Assert.Single(audit, r => r.GetProperty("name").GetString() == "delete_all_files");
        Assert.Equal("explicit-deny", record.GetProperty("reason").GetString());
        Assert.Equal(scenario.Policy, record.GetProperty("policy").GetString());
    }

    [Theory]
    [MemberData(nameof(Generations))]
    public async Task Tools_list_is_filtered_to_what_the_identity_may_call(ProtocolGeneration generation)
    {
        var scenario = await Scenario.CreateAsync(fabric, s => [Allow(s, "echo", "add", "delete_*"), Deny(s, "delete_all_files")]);
        await using var agent = await scenario.ConnectAsync(generation);

        var tools = await agent.Client.ListToolsAsync();

        Assert.Equal(["add", "echo"], tools.Select(t => t.Name).Order(StringComparer.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Generations))]
    public async Task Argument_constraint_allows_matching_calls_and_denies_others(ProtocolGeneration generation)
    {
        var scenario = await Scenario.CreateAsync(fabric, s =>
            [new { server = s, effect = "allow", tools = new[] { "read_file" }, when = new { arguments = new Dictionary<string, string> { ["path"] = "/public/*" } } }]);
        await using var agent = await scenario.ConnectAsync(generation);

        var allowed = await agent.Client.CallToolAsync("read_file", new Dictionary<string, object?> { ["path"] = "/public/a.txt" });
        var denied = await Assert.ThrowsAsync<McpProtocolException>(() =>
            agent.Client.CallToolAsync("read_file", new Dictionary<string, object?> { ["path"] = "/etc/passwd" }).AsTask());

        Assert.Equal("contents of /public/a.txt", Assert.IsType<TextContentBlock>(Assert.Single(allowed.Content)).Text);
        Assert.Equal(-32003, (int)denied.ErrorCode);
        Assert.Contains("argument-constraint", denied.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(fabric.Upstream.Requests, r => r.Body.Contains("/etc/passwd", StringComparison.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Generations))]
    public async Task Revocation_takes_effect_on_the_next_call_of_a_live_session(ProtocolGeneration generation)
    {
        var scenario = await Scenario.CreateAsync(fabric, s => [Allow(s, "echo", "add")]);
        await using var agent = await scenario.ConnectAsync(generation);
        await agent.Client.CallToolAsync("echo", new Dictionary<string, object?> { ["text"] = "before" });

        await scenario.SetRulesAsync(Allow(scenario.Server, "add"));

        var error = await Assert.ThrowsAsync<McpProtocolException>(() =>
            agent.Client.CallToolAsync("echo", new Dictionary<string, object?> { ["text"] = "after" }).AsTask());
        Assert.Equal(-32003, (int)error.ErrorCode);
        Assert.Contains("no-matching-allow", error.Message, StringComparison.Ordinal);
        var sum = await agent.Client.CallToolAsync("add", new Dictionary<string, object?> { ["a"] = 2, ["b"] = 3 });
        Assert.Equal("5", Assert.IsType<TextContentBlock>(Assert.Single(sum.Content)).Text);
    }

    [Theory]
    [MemberData(nameof(Generations))]
    public async Task Resources_and_prompts_lists_are_filtered_and_reads_decided_by_uri(ProtocolGeneration generation)
    {
        var scenario = await Scenario.CreateAsync(fabric, s =>
            [new { server = s, effect = "allow", resources = new[] { "file:///readme.txt" }, prompts = new[] { "summarize" } }]);
        await using var agent = await scenario.ConnectAsync(generation);

        var resources = await agent.Client.ListResourcesAsync();
        var prompts = await agent.Client.ListPromptsAsync();
        var readme = await agent.Client.ReadResourceAsync("file:///readme.txt");
        var secret = await Assert.ThrowsAsync<McpProtocolException>(() => agent.Client.ReadResourceAsync("file:///secrets.txt").AsTask());

        Assert.Equal(["file:///readme.txt"], resources.Select(r => r.Uri));
        Assert.Equal(["summarize"], prompts.Select(p => p.Name));
        Assert.Equal("read me", Assert.IsType<TextResourceContents>(Assert.Single(readme.Contents)).Text);
        Assert.Equal(-32003, (int)secret.ErrorCode);
    }

    [Fact]
    public async Task Deleting_a_server_takes_effect_on_the_next_message_of_a_live_session()
    {
        var scenario = await Scenario.CreateAsync(fabric, s => [Allow(s, "echo")]);
        await using var agent = await scenario.ConnectAsync(ProtocolGeneration.Stateless2026);
        await agent.Client.CallToolAsync("echo", new Dictionary<string, object?> { ["text"] = "before" });

        using (var deleted = await fabric.Admin.DeleteAsync($"/v1/servers/{scenario.Server}"))
        {
            deleted.EnsureSuccessStatusCode();
        }

        var gone = await Assert.ThrowsAsync<HttpRequestException>(() =>
            agent.Client.CallToolAsync("echo", new Dictionary<string, object?> { ["text"] = "after" }).AsTask());
        Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
        Assert.Contains("unknown-server", gone.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Disabling_a_workload_refuses_its_next_message_and_counts_its_calls()
    {
        var scenario = await Scenario.CreateAsync(fabric, s => [Allow(s, "echo")]);
        await using var agent = await scenario.ConnectAsync(ProtocolGeneration.Stateless2026);
        await agent.Client.CallToolAsync("echo", new Dictionary<string, object?> { ["text"] = "x" });
        var path = "/v1/workloads/" + scenario.Agent["spiffe://".Length..];

        await fabric.PutAsync(path, new { enabled = false });

        var refused = await Assert.ThrowsAnyAsync<Exception>(() =>
            agent.Client.CallToolAsync("echo", new Dictionary<string, object?> { ["text"] = "y" }).AsTask());
        Assert.Contains("403", refused.ToString(), StringComparison.Ordinal);
        await fabric.FlushAuditAsync();
        using var status = JsonDocument.Parse(await fabric.Admin.GetStringAsync(path));
        Assert.False(status.RootElement.GetProperty("enabled").GetBoolean());
        Assert.True(status.RootElement.GetProperty("allowed").GetInt64() >= 2); // discover/initialize + echo
        Assert.True(status.RootElement.GetProperty("denied").GetInt64() >= 1);
        var audit = await fabric.AuditAsync($"workload={Uri.EscapeDataString(scenario.Agent)}&decision=deny");
        Assert.Contains(audit, r => r.GetProperty("reason").GetString() == "workload-disabled");
    }

    [Fact]
    public async Task A_workload_with_no_grant_for_the_server_gets_403_problem_on_its_first_message()
    {
        var scenario = await Scenario.CreateAsync(fabric, s => [Allow(s, "echo")]);
        var stranger = await fabric.MintSvidAsync($"spiffe://{FabricFixture.TrustDomain}/agents/{FabricFixture.Unique("stranger")}");
        using var http = fabric.AgentHttpClient(stranger);

        using var response = await McpClients.PostAsync(http, fabric.McpUrl(scenario.Server), McpClients.StatelessRequest(1, "server/discover"),
            McpClients.StatelessHeaders("server/discover"));

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("no-matching-allow", problem.RootElement.GetProperty("reason").GetString());
    }

    [Fact]
    public async Task Unknown_server_is_404_problem()
    {
        var scenario = await Scenario.CreateAsync(fabric, s => [Allow(s, "echo")]);
        using var http = fabric.AgentHttpClient(scenario.Certificate);

        using var response = await McpClients.PostAsync(http, fabric.McpUrl("no-such-server"), McpClients.StatelessRequest(1, "server/discover"),
            McpClients.StatelessHeaders("server/discover"));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("unknown-server", problem.RootElement.GetProperty("reason").GetString());
    }

    [Fact]
    public async Task Headers_that_disagree_with_the_body_are_refused_with_400_before_any_decision()
    {
        var scenario = await Scenario.CreateAsync(fabric, s => [Allow(s, "echo", "add")]);
        using var http = fabric.AgentHttpClient(scenario.Certificate);
        var body = McpClients.StatelessRequest(7, "tools/call", "\"name\":\"echo\",\"arguments\":{\"text\":\"mismatch-probe\"}");

        using var response = await McpClients.PostAsync(http, fabric.McpUrl(scenario.Server), body, McpClients.StatelessHeaders("tools/call", "add"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(-32020, error.RootElement.GetProperty("error").GetProperty("code").GetInt32());
        Assert.Equal(7, error.RootElement.GetProperty("id").GetInt32());
        Assert.DoesNotContain(fabric.Upstream.Requests, r => r.Body.Contains("mismatch-probe", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("1.1", true)]
    [InlineData("2.0", false)]
    public async Task An_oversized_body_is_refused_with_413(string version, bool declareLength)
    {
        var scenario = await Scenario.CreateAsync(fabric, s => [Allow(s, "echo")]);
        using var http = fabric.AgentHttpClient(scenario.Certificate);
        var text = new string('x', 2 * 1024 * 1024);
        var body = System.Text.Encoding.UTF8.GetBytes(
            McpClients.StatelessRequest(1, "tools/call", "\"name\":\"echo\",\"arguments\":{\"text\":\"" + text + "\"}"));
        // HTTP/1.1 with Content-Length: the edge refuses before reading, and 100-continue keeps the
        // client from sending the body at all. HTTP/2 without a length: the edge stops reading at the limit.
        HttpContent content = declareLength ? new ByteArrayContent(body) : new StreamContent(new UnknownLengthStream(body));
        content.Headers.ContentType = new("application/json");
        using var request = new HttpRequestMessage(HttpMethod.Post, fabric.McpUrl(scenario.Server))
        {
            Version = Version.Parse(version),
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = content,
        };
        request.Headers.ExpectContinue = declareLength;
        request.Headers.Accept.ParseAdd("application/json, text/event-stream");
        foreach (var (name, value) in McpClients.StatelessHeaders("tools/call", "echo"))
        {
            request.Headers.Add(name, value);
        }

        using var response = await http.SendAsync(request);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
    }

    [Fact]
    public async Task A_session_minted_for_one_workload_is_refused_for_another()
    {
        var scenario = await Scenario.CreateAsync(fabric, s => [Allow(s, "echo")]);
        var otherId = $"spiffe://{FabricFixture.TrustDomain}/agents/{FabricFixture.Unique("other")}";
        await fabric.PutAsync($"/v1/policies/{FabricFixture.Unique("pol")}", new { subjects = new[] { otherId }, rules = new[] { Allow(scenario.Server, "echo") } });
        var other = await fabric.MintSvidAsync(otherId);
        using var ownerHttp = fabric.AgentHttpClient(scenario.Certificate);
        using var otherHttp = fabric.AgentHttpClient(other);
        var sessionId = await McpClients.InitializeSessionAsync(ownerHttp, fabric.McpUrl(scenario.Server));
        var call = """{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hijack"}}}""";

        using var hijack = await McpClients.PostAsync(otherHttp, fabric.McpUrl(scenario.Server), call, McpClients.SessionHeaders(sessionId));
        using var own = await McpClients.PostAsync(ownerHttp, fabric.McpUrl(scenario.Server), call.Replace("hijack", "own", StringComparison.Ordinal), McpClients.SessionHeaders(sessionId));

        Assert.Equal(HttpStatusCode.Forbidden, hijack.StatusCode);
        using var problem = JsonDocument.Parse(await hijack.Content.ReadAsStringAsync());
        Assert.Equal("session-binding-mismatch", problem.RootElement.GetProperty("reason").GetString());
        Assert.Equal(HttpStatusCode.OK, own.StatusCode);
        Assert.DoesNotContain(fabric.Upstream.Requests, r => r.Body.Contains("hijack", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Progress_notifications_stream_through_live()
    {
        var scenario = await Scenario.CreateAsync(fabric, s => [Allow(s, "progress")]);
        var progress = new RecordingProgress(expected: 3);
        await using var agent = await scenario.ConnectAsync(ProtocolGeneration.Sessions2025, progress.Handlers);

        var result = await agent.Client.CallToolAsync("progress", new Dictionary<string, object?> { ["steps"] = 3 }, progress);

        // Every notification crossed the edge on the response's SSE stream (the SDK may dispatch
        // them to the handler just after the result, so wait for them, bounded).
        Assert.Equal("done 3", Assert.IsType<TextContentBlock>(Assert.Single(result.Content)).Text);
        await progress.All.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal([1f, 2f, 3f], progress.Seen);
    }

    [Fact]
    public async Task An_agent_that_hangs_up_mid_stream_is_audited_as_allowed_and_client_closed_not_as_an_upstream_failure()
    {
        var scenario = await Scenario.CreateAsync(fabric, s => [Allow(s, "progress")]);
        await using var agent = await scenario.ConnectAsync(ProtocolGeneration.Stateless2026);
        var firstStep = new RecordingProgress(expected: 1);
        using var hangUp = new CancellationTokenSource();

        var call = agent.Client.CallToolAsync("progress", new Dictionary<string, object?> { ["steps"] = 400 }, firstStep, cancellationToken: hangUp.Token);
        await firstStep.All.WaitAsync(TimeSpan.FromSeconds(10));
        await hangUp.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call.AsTask());

        // The edge finishes the forward once the agent is gone, then audits it.
        var deadline = Stopwatch.StartNew();
        JsonElement record;
        while (true)
        {
            var records = await fabric.AuditAsync($"workload={Uri.EscapeDataString(scenario.Agent)}");
            var calls = records.Where(r => r.TryGetProperty("name", out var name) && name.GetString() == "progress").ToArray();
            if (calls.Length > 0)
            {
                record = Assert.Single(calls);
                break;
            }
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(20), "the hung-up call was never audited");
            await Task.Delay(50);
        }
        Assert.Equal("client-closed", record.GetProperty("reason").GetString());
        Assert.True(record.GetProperty("allowed").GetBoolean()); // the upstream did receive the call
        Assert.Equal(200, record.GetProperty("upstreamStatus").GetInt32());
    }
}

/// <summary>Records progress values; <see cref="All"/> completes once the expected number arrived.</summary>
/// <summary>
/// Records the progress values of one call. The SDK drops a notification that it dispatches after the call's own
/// handler is gone (it may run handlers after handing back the result), so a test that waits for every step past the
/// result connects with <see cref="Handlers"/>, which see the notifications for the client's whole lifetime.
/// </summary>
internal sealed class RecordingProgress(int expected) : IProgress<ProgressNotificationValue>
{
    private readonly List<float> _seen = [];
    private volatile bool _clientWide;
    private readonly TaskCompletionSource _all = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task All => _all.Task;

    public IReadOnlyList<float> Seen
    {
        get
        {
            lock (_seen)
            {
                return [.. _seen.Order()]; // handlers may run concurrently: delivery order is not wire order
            }
        }
    }

    /// <summary>Client handlers that record every progress notification, whenever the SDK dispatches it (the call's own handler then records nothing, so a duplicate shows).</summary>
    public McpClientHandlers Handlers => ClientWide(new McpClientHandlers
    {
        NotificationHandlers =
        [
            new(NotificationMethods.ProgressNotification, (notification, _) =>
            {
                if (notification.Params?["progress"]?.GetValue<float>() is { } progress)
                {
                    Record(progress);
                }
                return ValueTask.CompletedTask;
            }),
        ],
    });

    public void Report(ProgressNotificationValue value)
    {
        if (!_clientWide)
        {
            Record(value.Progress);
        }
    }

    private McpClientHandlers ClientWide(McpClientHandlers handlers)
    {
        _clientWide = true;
        return handlers;
    }

    private void Record(float progress)
    {
        lock (_seen)
        {
            _seen.Add(progress);
            if (_seen.Count >= expected)
            {
                _all.TrySetResult();
            }
        }
    }
}

/// <summary>A readable stream that hides its length, so the body goes out without Content-Length.</summary>
internal sealed class UnknownLengthStream(byte[] data) : MemoryStream(data)
{
    public override bool CanSeek => false;
}
