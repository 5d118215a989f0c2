using System.IO.Compression;
using System.Net;
using System.Text;
using System.Text.Json;
using Fabric.Edge.Tests.Fixtures;
using Microsoft.AspNetCore.Http;
using ModelContextProtocol.Protocol;

namespace Fabric.Edge.Tests.EndToEnd;

/// <summary>
/// Issue 9's defects, each as the attack that found it: a reflecting or mislabelling upstream, an agent that
/// sends what no MCP client would. Real edge, real Kestrel mTLS, real certificates.
/// </summary>
[Collection(FabricCollection.Name)]
public sealed class HostileInputTests(FabricFixture fabric)
{
    private static object Allow(string server, params string[] tools) => new { server, effect = "allow", tools };

    private static string Discover => McpClients.StatelessRequest(1, "server/discover");

    private static string Call(int id, string method, string name) =>
        McpClients.StatelessRequest(id, method, $"\"name\":\"{name}\",\"arguments\":{{\"text\":\"x\"}}");

    private async Task<(Scenario Scenario, HostileUpstream Upstream)> HostileAsync(RequestDelegate respond, Func<string, object[]>? rules = null)
    {
        var upstream = await HostileUpstream.StartAsync(respond);
        var scenario = await Scenario.CreateAsync(fabric, rules ?? (s => [Allow(s, "echo")]), upstream.Endpoint);
        return (scenario, upstream);
    }

    private async Task<JsonElement> LastAuditAsync(Scenario scenario)
    {
        var records = await fabric.AuditAsync($"workload={Uri.EscapeDataString(scenario.Agent)}&limit=1");
        return Assert.Single(records);
    }

    private static string Everything(HttpResponseMessage response, string body) =>
        response + "\n" + string.Join("\n", response.Headers.Concat(response.Content.Headers).Select(h => h.Key + ": " + string.Join(",", h.Value))) + "\n" + body;

    // ---- 1. Reflection ----

    [Fact]
    public async Task A_real_mcp_server_that_returns_the_authorization_header_returns_it_masked()
    {
        var scenario = await Scenario.CreateAsync(fabric, s => [Allow(s, "whoami")]);
        await using var agent = await scenario.ConnectAsync(ProtocolGeneration.Stateless2026);

        var result = await agent.Client.CallToolAsync("whoami");

        var text = Assert.IsType<TextContentBlock>(Assert.Single(result.Content)).Text;
        Assert.DoesNotContain(scenario.SecretValue, text, StringComparison.Ordinal);
        Assert.Equal(new string('*', "Bearer ".Length + scenario.SecretValue.Length), text); // masked, same length
        Assert.Contains(fabric.Upstream.Requests, r => r.Header("Authorization") == "Bearer " + scenario.SecretValue);
        var record = await LastAuditAsync(scenario);
        Assert.True(record.GetProperty("credentialReflected").GetInt32() >= 1);
        Assert.True(record.GetProperty("allowed").GetBoolean());
    }

    [Fact]
    public async Task An_echo_in_headers_and_in_every_encoding_an_echo_produces_never_reaches_the_agent()
    {
        string[] forms = [];
        var (scenario, _) = await HostileAsync(async context =>
        {
            var header = context.Request.Headers.Authorization.ToString();
            var secret = header["Bearer ".Length..];
            forms =
            [
                secret,
                JsonSerializer.Serialize(header)[1..^1],
                Uri.EscapeDataString(header),
                Convert.ToBase64String(Encoding.UTF8.GetBytes(header)),
                Convert.ToBase64String(Encoding.UTF8.GetBytes(secret)).TrimEnd('='),
                Convert.ToBase64String(Encoding.UTF8.GetBytes(secret)).Replace('+', '-').Replace('/', '_'),
            ];
            context.Response.Headers["X-Echo"] = header;
            context.Response.Headers["X-Echo-Secret"] = "token=" + secret;
            var body = "{\"jsonrpc\":\"2.0\",\"id\":3,\"result\":{\"content\":[{\"type\":\"text\",\"text\":\"" + string.Join(" | ", forms.Select(f => JsonSerializer.Serialize(f)[1..^1])) + "\"}]}}";
            await HostileUpstream.WriteAsync(context, body, "application/json");
        });
        using var http = fabric.AgentHttpClient(scenario.Certificate);

        using var response = await McpClients.PostAsync(http, fabric.McpUrl(scenario.Server), Call(3, "tools/call", "echo"), McpClients.StatelessHeaders("tools/call", "echo"));
        var seen = Everything(response, await response.Content.ReadAsStringAsync());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.NotEmpty(forms);
        Assert.All(forms, form => Assert.DoesNotContain(form, seen, StringComparison.Ordinal));
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(3, json.RootElement.GetProperty("id").GetInt32()); // still a valid JSON-RPC answer
        Assert.True((await LastAuditAsync(scenario)).GetProperty("credentialReflected").GetInt32() >= forms.Length);
    }

    [Fact]
    public async Task A_secret_split_across_sse_writes_is_masked_while_streaming()
    {
        var (scenario, _) = await HostileAsync(async context =>
        {
            var header = context.Request.Headers.Authorization.ToString();
            context.Response.ContentType = "text/event-stream";
            var half = header.Length / 2;
            await context.Response.WriteAsync("event: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{\"progressToken\":1,\"progress\":1,\"message\":\"" + header[..half]);
            await context.Response.Body.FlushAsync();
            await context.Response.WriteAsync(header[half..] + "\"}}\n\n");
            await context.Response.Body.FlushAsync();
            await context.Response.WriteAsync(HostileUpstream.SseResult("{\"content\":[]}", 3));
        });
        using var http = fabric.AgentHttpClient(scenario.Certificate);

        using var response = await McpClients.PostAsync(http, fabric.McpUrl(scenario.Server), Call(3, "tools/call", "echo"), McpClients.StatelessHeaders("tools/call", "echo"));
        var body = await response.Content.ReadAsStringAsync();

        Assert.DoesNotContain(scenario.SecretValue, body, StringComparison.Ordinal);
        Assert.Contains("notifications/progress", body, StringComparison.Ordinal);
        Assert.Contains("\"id\":3", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_on_reflection_block_an_answer_carrying_the_credential_is_withheld()
    {
        var (scenario, upstream) = await HostileAsync(context => HostileUpstream.WriteAsync(context,
            "{\"jsonrpc\":\"2.0\",\"id\":3,\"result\":{\"content\":[{\"type\":\"text\",\"text\":\"" + context.Request.Headers.Authorization + "\"}]}}", "application/json"));
        await fabric.PutAsync($"/v1/servers/{scenario.Server}", new
        {
            upstream = upstream.Endpoint.ToString(),
            credential = new { source = "local", @ref = scenario.Secret, inject = new { header = "Authorization", format = "Bearer {secret}" } },
            onReflection = "block",
        });
        using var http = fabric.AgentHttpClient(scenario.Certificate);

        using var response = await McpClients.PostAsync(http, fabric.McpUrl(scenario.Server), Call(3, "tools/call", "echo"), McpClients.StatelessHeaders("tools/call", "echo"));
        var body = await response.Content.ReadAsStringAsync();

        Assert.DoesNotContain(scenario.SecretValue, body, StringComparison.Ordinal);
        using var json = JsonDocument.Parse(body);
        Assert.Equal(3, json.RootElement.GetProperty("id").GetInt32());
        Assert.Equal("credential-reflected", json.RootElement.GetProperty("error").GetProperty("data").GetProperty("reason").GetString());
        var record = await LastAuditAsync(scenario);
        Assert.Equal("credential-reflected", record.GetProperty("reason").GetString());
        Assert.False(record.GetProperty("allowed").GetBoolean());
        Assert.True(record.GetProperty("credentialReflected").GetInt32() >= 1);
        Assert.Equal(200, record.GetProperty("upstreamStatus").GetInt32());

        // An answer without the credential passes untouched under block.
        upstream.Respond(context => HostileUpstream.WriteAsync(context, "{\"jsonrpc\":\"2.0\",\"id\":4,\"result\":{\"content\":[]}}", "application/json"));
        using var clean = await McpClients.PostAsync(http, fabric.McpUrl(scenario.Server), Call(4, "tools/call", "echo"), McpClients.StatelessHeaders("tools/call", "echo"));
        Assert.Equal("{\"jsonrpc\":\"2.0\",\"id\":4,\"result\":{\"content\":[]}}", await clean.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("Block")]
    [InlineData("drop")]
    [InlineData("")]
    public async Task On_reflection_takes_only_redact_or_block(string value)
    {
        using var response = await fabric.Admin.PutAsync($"/v1/servers/{FabricFixture.Unique("srv")}",
            System.Net.Http.Json.JsonContent.Create(new { upstream = fabric.Upstream.Endpoint.ToString(), onReflection = value }));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("onReflection", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_compressed_answer_is_refused_never_passed_unscanned_and_the_upstream_is_asked_for_identity()
    {
        var (scenario, upstream) = await HostileAsync(async context =>
        {
            using var gzipped = new MemoryStream();
            await using (var gzip = new GZipStream(gzipped, CompressionLevel.Fastest, leaveOpen: true))
            {
                await gzip.WriteAsync(Encoding.UTF8.GetBytes("{\"jsonrpc\":\"2.0\",\"id\":3,\"result\":{\"echo\":\"" + context.Request.Headers.Authorization + "\"}}"));
            }
            context.Response.ContentType = "application/json";
            context.Response.Headers.ContentEncoding = "gzip";
            await context.Response.Body.WriteAsync(gzipped.ToArray());
        });
        using var http = fabric.AgentHttpClient(scenario.Certificate);

        using var response = await McpClients.PostAsync(http, fabric.McpUrl(scenario.Server), Call(3, "tools/call", "echo"),
            new Dictionary<string, string>(McpClients.StatelessHeaders("tools/call", "echo")) { ["Accept-Encoding"] = "gzip" });

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Equal("identity", Assert.Single(upstream.Requests).Header("Accept-Encoding"));
        var record = await LastAuditAsync(scenario);
        Assert.Equal("upstream-protocol-error", record.GetProperty("reason").GetString());
        Assert.Equal(502, record.GetProperty("status").GetInt32());
    }

    // ---- 2. Reserved identities ----

    [Fact]
    public async Task A_certificate_for_a_fabric_component_is_refused_as_an_agent()
    {
        var edgeId = $"spiffe://{FabricFixture.TrustDomain}/fabric/edge/{FabricFixture.Unique("stolen")}";
        var server = FabricFixture.Unique("srv");
        await fabric.PutAsync($"/v1/servers/{server}", new { upstream = fabric.Upstream.Endpoint.ToString() });
        await fabric.PutAsync($"/v1/policies/{FabricFixture.Unique("pol")}", new { subjects = new[] { $"spiffe://{FabricFixture.TrustDomain}/*" }, rules = new[] { Allow(server, "echo") } });
        using var certificate = await fabric.MintThroughTheCaGrainAsync(edgeId);
        using var http = fabric.AgentHttpClient(certificate);
        fabric.Upstream.ClearRequests();

        using var response = await McpClients.PostAsync(http, fabric.McpUrl(server), Discover, McpClients.StatelessHeaders("server/discover"));

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("reserved-identity", problem.RootElement.GetProperty("reason").GetString());
        var record = Assert.Single(await fabric.AuditAsync($"workload={Uri.EscapeDataString(edgeId)}"));
        Assert.Equal("reserved-identity", record.GetProperty("reason").GetString());
    }

    // ---- 3. Lists ----

    [Theory]
    [InlineData("text/plain")]
    [InlineData(null)]
    [InlineData("application/octet-stream")]
    public async Task A_list_answer_that_is_neither_json_nor_sse_is_refused(string? contentType)
    {
        var (scenario, _) = await HostileAsync(context => HostileUpstream.WriteAsync(context,
            "{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":{\"tools\":[{\"name\":\"echo\"},{\"name\":\"delete_all_files\"}]}}", contentType));
        using var http = fabric.AgentHttpClient(scenario.Certificate);

        using var response = await McpClients.PostAsync(http, fabric.McpUrl(scenario.Server), McpClients.StatelessRequest(2, "tools/list"), McpClients.StatelessHeaders("tools/list"));
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.DoesNotContain("delete_all_files", body, StringComparison.Ordinal);
        Assert.Equal("upstream-protocol-error", JsonDocument.Parse(body).RootElement.GetProperty("reason").GetString());
        Assert.Equal("upstream-protocol-error", (await LastAuditAsync(scenario)).GetProperty("reason").GetString());
    }

    [Fact]
    public async Task A_list_answer_that_does_not_parse_is_refused()
    {
        var (scenario, _) = await HostileAsync(context => HostileUpstream.WriteAsync(context,
            "event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":2,\"result\":{\"tools\":[{\"name\":\"delete_all_files\"}\n\n", "text/event-stream"));
        using var http = fabric.AgentHttpClient(scenario.Certificate);

        using var response = await McpClients.PostAsync(http, fabric.McpUrl(scenario.Server), McpClients.StatelessRequest(2, "tools/list"), McpClients.StatelessHeaders("tools/list"));

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.DoesNotContain("delete_all_files", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_sse_notification_carrying_a_tools_array_is_filtered_like_the_result()
    {
        var (scenario, _) = await HostileAsync(context => HostileUpstream.WriteAsync(context,
            "event: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\",\"params\":{\"tools\":[{\"name\":\"delete_all_files\"},{\"name\":\"echo\"}]}}\n\n"
            + HostileUpstream.SseResult("{\"tools\":[{\"name\":\"echo\"}]}", 2), "text/event-stream"));
        using var http = fabric.AgentHttpClient(scenario.Certificate);

        using var response = await McpClients.PostAsync(http, fabric.McpUrl(scenario.Server), McpClients.StatelessRequest(2, "tools/list"), McpClients.StatelessHeaders("tools/list"));
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.DoesNotContain("delete_all_files", body, StringComparison.Ordinal);
        Assert.Contains("notifications/message", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_endless_list_answer_is_refused_as_too_large_and_audited_as_such()
    {
        var (scenario, _) = await HostileAsync(async context =>
        {
            context.Response.ContentType = "text/event-stream";
            await context.Response.WriteAsync("event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":2,\"result\":{\"tools\":[");
            var chunk = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("{\"name\":\"echo\"},", 1000)));
            while (!context.RequestAborted.IsCancellationRequested)
            {
                await context.Response.Body.WriteAsync(chunk, context.RequestAborted);
            }
        });
        using var http = fabric.AgentHttpClient(scenario.Certificate);

        using var response = await McpClients.PostAsync(http, fabric.McpUrl(scenario.Server), McpClients.StatelessRequest(2, "tools/list"), McpClients.StatelessHeaders("tools/list"));

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        var record = await LastAuditAsync(scenario);
        Assert.Equal("upstream-response-too-large", record.GetProperty("reason").GetString());
        Assert.False(record.GetProperty("allowed").GetBoolean());
        Assert.Equal(502, record.GetProperty("status").GetInt32());
    }

    // ---- 4. Methods ----

    [Theory]
    [InlineData("Tools/Call", "delete_all_files")]
    [InlineData("x/custom", null)]
    [InlineData("sampling/createMessage", null)]
    [InlineData("initialize", null)] // a session-generation request sent as 2026-07-28
    public async Task A_method_in_no_table_of_its_protocol_version_is_denied_and_never_forwarded(string method, string? name)
    {
        var (scenario, upstream) = await HostileAsync(context => HostileUpstream.WriteAsync(context, "{}", "application/json"),
            s => [new { server = s, effect = "allow" }]);
        using var http = fabric.AgentHttpClient(scenario.Certificate);
        var body = name is null ? McpClients.StatelessRequest(7, method) : Call(7, method, name);

        // No Mcp-Name: the edge reads no name from a method it does not know (a header naming one would be a mismatch).
        using var response = await McpClients.PostAsync(http, fabric.McpUrl(scenario.Server), body, McpClients.StatelessHeaders(method));

        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(-32003, json.RootElement.GetProperty("error").GetProperty("code").GetInt32());
        Assert.Equal("unknown-method", json.RootElement.GetProperty("error").GetProperty("data").GetProperty("reason").GetString());
        Assert.Empty(upstream.Requests);
        var record = await LastAuditAsync(scenario);
        Assert.Equal("unknown-method", record.GetProperty("reason").GetString());
        Assert.Equal(method, record.GetProperty("method").GetString());
    }

    [Fact]
    public async Task A_rule_naming_an_extension_method_lets_exactly_it_through()
    {
        var (scenario, upstream) = await HostileAsync(context => HostileUpstream.WriteAsync(context, "{\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{}}", "application/json"),
            s => [Allow(s, "echo"), new { server = s, effect = "allow", methods = new[] { "x/custom" } }]);
        using var http = fabric.AgentHttpClient(scenario.Certificate);

        using var allowed = await McpClients.PostAsync(http, fabric.McpUrl(scenario.Server), McpClients.StatelessRequest(7, "x/custom"), McpClients.StatelessHeaders("x/custom"));
        using var other = await McpClients.PostAsync(http, fabric.McpUrl(scenario.Server), McpClients.StatelessRequest(8, "x/other"), McpClients.StatelessHeaders("x/other"));

        Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
        Assert.Contains("\"result\"", await allowed.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Contains("unknown-method", await other.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Single(upstream.Requests);
    }

    [Fact]
    public async Task A_response_that_also_carries_params_is_refused_with_400()
    {
        var (scenario, upstream) = await HostileAsync(context => HostileUpstream.WriteAsync(context, "{}", "application/json"), s => [new { server = s, effect = "allow" }]);
        using var http = fabric.AgentHttpClient(scenario.Certificate);
        var session = McpClients.SessionHeaders("unused");
        session.Remove("Mcp-Session-Id");

        using var response = await McpClients.PostAsync(http, fabric.McpUrl(scenario.Server),
            "{\"jsonrpc\":\"2.0\",\"id\":5,\"result\":{},\"params\":{\"name\":\"delete_all_files\"}}", session);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Empty(upstream.Requests);
        Assert.Equal("invalid-message", (await LastAuditAsync(scenario)).GetProperty("reason").GetString());
    }

    // ---- 5. GET and DELETE pass the same decision ----

    [Fact]
    public async Task A_server_wide_deny_closes_the_event_stream_and_session_end_too()
    {
        var (scenario, upstream) = await HostileAsync(context => HostileUpstream.WriteAsync(context, "", "text/event-stream"),
            s => [Allow(s, "echo"), new { server = s, effect = "deny" }]);
        using var http = fabric.AgentHttpClient(scenario.Certificate);

        foreach (var method in new[] { HttpMethod.Get, HttpMethod.Delete })
        {
            using var request = new HttpRequestMessage(method, fabric.McpUrl(scenario.Server));
            request.Headers.Accept.ParseAdd("text/event-stream");
            using var response = await http.SendAsync(request);
            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
            Assert.Contains("explicit-deny", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
        Assert.Empty(upstream.Requests);
    }

    [Fact]
    public async Task Another_http_method_is_refused_with_405_and_audited()
    {
        var (scenario, upstream) = await HostileAsync(context => HostileUpstream.WriteAsync(context, "{}", "application/json"));
        using var http = fabric.AgentHttpClient(scenario.Certificate);

        using var response = await http.SendAsync(new HttpRequestMessage(HttpMethod.Put, fabric.McpUrl(scenario.Server)) { Content = new StringContent("{}", Encoding.UTF8, "application/json") });

        Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
        Assert.Empty(upstream.Requests);
        Assert.Equal("method-not-allowed", (await LastAuditAsync(scenario)).GetProperty("reason").GetString());
    }

    // ---- 6. Error paths ----

    [Fact]
    public async Task Invalid_utf8_inside_a_json_string_is_a_parse_error_not_a_500()
    {
        var (scenario, upstream) = await HostileAsync(context => HostileUpstream.WriteAsync(context, "{}", "application/json"));
        using var http = fabric.AgentHttpClient(scenario.Certificate);
        var body = Encoding.UTF8.GetBytes(Call(3, "tools/call", "ec\u0001ho"));
        body[Array.IndexOf(body, (byte)1)] = 0xFF;
        using var request = new HttpRequestMessage(HttpMethod.Post, fabric.McpUrl(scenario.Server)) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new("application/json");
        request.Headers.Accept.ParseAdd("application/json, text/event-stream");
        foreach (var (name, value) in McpClients.StatelessHeaders("tools/call", "echo"))
        {
            request.Headers.Add(name, value);
        }

        using var response = await http.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(-32700, json.RootElement.GetProperty("error").GetProperty("code").GetInt32());
        Assert.Empty(upstream.Requests);
        var record = await LastAuditAsync(scenario);
        Assert.Equal("invalid-message", record.GetProperty("reason").GetString());
        Assert.Equal(400, record.GetProperty("status").GetInt32());
    }

    [Fact]
    public async Task An_upstream_that_hands_out_another_agents_session_id_gets_502_and_an_audit_record()
    {
        var sessionId = "hijack-" + Guid.NewGuid().ToString("N");
        var (victim, upstream) = await HostileAsync(context =>
        {
            context.Response.Headers["Mcp-Session-Id"] = sessionId;
            return HostileUpstream.WriteAsync(context, "{\"jsonrpc\":\"2.0\",\"id\":0,\"result\":{\"protocolVersion\":\"2025-11-25\",\"capabilities\":{},\"serverInfo\":{\"name\":\"h\",\"version\":\"1\"}}}", "application/json");
        }, s => [new { server = s, effect = "allow" }]);
        await fabric.PutAsync($"/v1/policies/{FabricFixture.Unique("pol")}", new { subjects = new[] { victim.Agent }, rules = new[] { new { server = victim.Server, effect = "allow" } } });
        using (var first = fabric.AgentHttpClient(victim.Certificate))
        {
            Assert.Equal(sessionId, await McpClients.InitializeSessionAsync(first, fabric.McpUrl(victim.Server)));
        }
        var attacker = $"spiffe://{FabricFixture.TrustDomain}/agents/{FabricFixture.Unique("attacker")}";
        await fabric.PutAsync($"/v1/policies/{FabricFixture.Unique("pol")}", new { subjects = new[] { attacker }, rules = new[] { new { server = victim.Server, effect = "allow" } } });
        using var certificate = await fabric.MintSvidAsync(attacker);
        using var http = fabric.AgentHttpClient(certificate);

        using var response = await McpClients.PostAsync(http, fabric.McpUrl(victim.Server),
            """{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}""");

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.False(response.Headers.Contains("Mcp-Session-Id"));
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("session-binding-mismatch", problem.RootElement.GetProperty("reason").GetString());
        var record = Assert.Single(await fabric.AuditAsync($"workload={Uri.EscapeDataString(attacker)}"));
        Assert.Equal("session-binding-mismatch", record.GetProperty("reason").GetString());
        Assert.Equal(502, record.GetProperty("status").GetInt32());
        Assert.NotEmpty(upstream.Requests);
    }

    public static TheoryData<string, string, int, string> PreDecisionRefusals => new()
    {
        { "{\"jsonrpc\":\"2.0\",\"id\":1,", "application/json", 400, "invalid-message" },
        { "[" + Discover + "]", "application/json", 400, "invalid-message" },
        { McpClients.StatelessRequest(1, "tools/list"), "application/json", 400, "header-mismatch" }, // headers say server/discover
        { Discover, "text/plain", 415, "unsupported-media-type" },
        { "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"params\":{\"pad\":\"" + new string('a', 2 * 1024 * 1024) + "\"}}", "application/json", 413, "message-too-large" },
    };

    [Theory]
    [MemberData(nameof(PreDecisionRefusals))]
    public async Task Every_refusal_before_a_decision_leaves_an_audit_record(string body, string contentType, int status, string reason)
    {
        var (scenario, upstream) = await HostileAsync(context => HostileUpstream.WriteAsync(context, "{}", "application/json"));
        using var http = fabric.AgentHttpClient(scenario.Certificate);
        using var request = new HttpRequestMessage(HttpMethod.Post, fabric.McpUrl(scenario.Server)) { Content = new StringContent(body, Encoding.UTF8, contentType) };
        request.Headers.Accept.ParseAdd("application/json, text/event-stream");
        // As a careful client sends a large body: the edge's early 413 then arrives instead of a reset mid-upload.
        request.Headers.ExpectContinue = true;
        foreach (var (name, value) in McpClients.StatelessHeaders("server/discover"))
        {
            request.Headers.Add(name, value);
        }

        using var response = await http.SendAsync(request);

        Assert.Equal(status, (int)response.StatusCode);
        Assert.Empty(upstream.Requests);
        var record = await LastAuditAsync(scenario);
        Assert.Equal(reason, record.GetProperty("reason").GetString());
        Assert.Equal(status, record.GetProperty("status").GetInt32());
        Assert.False(record.GetProperty("allowed").GetBoolean());
    }

    // ---- 7. Headers ----

    [Fact]
    public async Task Agent_forwarding_headers_and_connection_listed_headers_do_not_reach_the_upstream()
    {
        var (scenario, upstream) = await HostileAsync(context => HostileUpstream.WriteAsync(context, "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}", "application/json"));
        var headers = string.Join("\r\n", McpClients.StatelessHeaders("server/discover").Select(h => h.Key + ": " + h.Value));
        var body = Encoding.UTF8.GetBytes(Discover);

        // Raw HTTP/1.1 over the agent's mTLS connection: HttpClient rewrites Connection, a hostile client does not.
        var answer = await RawHttp1Async(scenario, "POST " + fabric.McpUrl(scenario.Server).AbsolutePath + " HTTP/1.1\r\n"
            + "Host: edge\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\n" + headers + "\r\n"
            + "X-Forwarded-For: 10.6.6.6\r\nX-Forwarded-Host: admin.internal\r\nX-Forwarded-Proto: http\r\nX-Real-IP: 10.6.6.6\r\n"
            + "Forwarded: for=10.6.6.6;host=admin.internal\r\nConnection: keep-alive, X-Hop\r\nX-Hop: should-not-pass\r\n"
            + "Content-Secret: looks-like-content\r\nCookie: session=agent\r\n"
            + $"Content-Length: {body.Length}\r\n\r\n" + Discover);

        Assert.StartsWith("HTTP/1.1 200", answer, StringComparison.Ordinal);
        var received = Assert.Single(upstream.Requests);
        Assert.Null(received.Header("X-Forwarded-For"));
        Assert.Null(received.Header("X-Forwarded-Host"));
        Assert.Null(received.Header("X-Forwarded-Proto"));
        Assert.Null(received.Header("X-Real-IP"));
        Assert.Null(received.Header("X-Hop"));
        Assert.Null(received.Header("Content-Secret"));
        Assert.Null(received.Header("Cookie"));
        var forwarded = received.Header("Forwarded");
        Assert.NotNull(forwarded);
        Assert.DoesNotContain("10.6.6.6", forwarded, StringComparison.Ordinal);
        Assert.Equal("for=127.0.0.1;proto=https", forwarded);
    }

    private async Task<string> RawHttp1Async(Scenario scenario, string request)
    {
        using var tcp = new System.Net.Sockets.TcpClient();
        await tcp.ConnectAsync(fabric.EdgeUrl.Host, fabric.EdgeUrl.Port);
        await using var tls = new System.Net.Security.SslStream(tcp.GetStream(), false, (_, certificate, _, _) =>
            Fabric.Contracts.Identity.CustomRootTrust.Chains(certificate as System.Security.Cryptography.X509Certificates.X509Certificate2, fabric.Bundle));
        await tls.AuthenticateAsClientAsync(new System.Net.Security.SslClientAuthenticationOptions
        {
            TargetHost = "localhost",
            ClientCertificates = [scenario.Certificate],
            ApplicationProtocols = [System.Net.Security.SslApplicationProtocol.Http11],
        });
        await tls.WriteAsync(Encoding.UTF8.GetBytes(request));
        var buffer = new byte[64 * 1024];
        var read = await tls.ReadAsync(buffer);
        return Encoding.UTF8.GetString(buffer, 0, read);
    }

    [Fact]
    public async Task A_body_with_a_content_encoding_is_refused_with_415()
    {
        var (scenario, upstream) = await HostileAsync(context => HostileUpstream.WriteAsync(context, "{}", "application/json"));
        using var http = fabric.AgentHttpClient(scenario.Certificate);
        using var request = new HttpRequestMessage(HttpMethod.Post, fabric.McpUrl(scenario.Server)) { Content = new StringContent(Discover, Encoding.UTF8, "application/json") };
        request.Content.Headers.ContentEncoding.Add("gzip");
        request.Headers.Accept.ParseAdd("application/json, text/event-stream");
        foreach (var (name, value) in McpClients.StatelessHeaders("server/discover"))
        {
            request.Headers.Add(name, value);
        }

        using var response = await http.SendAsync(request);

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
        Assert.Empty(upstream.Requests);
        Assert.Equal("unsupported-media-type", (await LastAuditAsync(scenario)).GetProperty("reason").GetString());
    }
}
