using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Fabric.Edge.Tests.Fixtures;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;

namespace Fabric.Edge.Tests.Mcp;

/// <summary>The fixture itself: a real SDK server both client generations can use, over HTTP and mTLS.</summary>
public sealed class TestMcpServerSmokeTests
{
    [Theory]
    [InlineData(ProtocolGeneration.Stateless2026)]
    [InlineData(ProtocolGeneration.Sessions2025)]
    public async Task Both_generations_list_and_call_tools(ProtocolGeneration generation)
    {
        await using var server = await TestMcpServer.StartAsync();
        await using var connected = await McpClients.ConnectAsync(server.Endpoint, generation);
        var client = connected.Client;

        var tools = await client.ListToolsAsync();
        var echo = await client.CallToolAsync("echo", new Dictionary<string, object?> { ["text"] = "hi" });
        var add = await client.CallToolAsync("add", new Dictionary<string, object?> { ["a"] = 2, ["b"] = 3 });
        var resources = await client.ListResourcesAsync();
        var templates = await client.ListResourceTemplatesAsync();
        var prompts = await client.ListPromptsAsync();

        Assert.Equal(["echo", "add", "delete_all_files", "read_file", "whoami", "progress"], tools.Select(t => t.Name));
        Assert.True(tools.Single(t => t.Name == "delete_all_files").ProtocolTool.Annotations?.DestructiveHint);
        Assert.Equal("hi", Text(echo));
        Assert.Equal("5", Text(add));
        Assert.Equal(["file:///readme.txt", "file:///secrets.txt"], resources.Select(r => r.Uri));
        Assert.Equal(["file:///logs/{name}", "db://{table}"], templates.Select(t => t.UriTemplate));
        Assert.Equal(["summarize", "admin_prompt"], prompts.Select(p => p.Name));
    }

    [Theory]
    [InlineData(ProtocolGeneration.Stateless2026, McpClients.StatelessVersion)]
    [InlineData(ProtocolGeneration.Sessions2025, McpClients.SessionsVersion)]
    public async Task The_request_log_shows_each_generation_on_the_wire(ProtocolGeneration generation, string version)
    {
        await using var server = await TestMcpServer.StartAsync();
        await using (var connected = await McpClients.ConnectAsync(server.Endpoint, generation))
        {
            await connected.Client.CallToolAsync("echo", new Dictionary<string, object?> { ["text"] = "hi" });
        }

        var requests = server.Requests;
        var call = requests.Single(r => r.Body.Contains("\"tools/call\"", StringComparison.Ordinal));
        Assert.Equal(("POST", "/mcp"), (call.Method, call.Path));
        Assert.Equal(version, call.Header("MCP-Protocol-Version"));
        Assert.Equal("tools/call", call.Header("Mcp-Method"));
        Assert.Equal("echo", call.Header("Mcp-Name"));
        if (generation == ProtocolGeneration.Sessions2025)
        {
            Assert.Contains(requests, r => r.Body.Contains("\"initialize\"", StringComparison.Ordinal));
            Assert.NotNull(call.Header("Mcp-Session-Id"));
            Assert.Contains(requests, r => r.Method == "DELETE");
        }
        else
        {
            Assert.Contains(requests, r => r.Body.Contains("\"server/discover\"", StringComparison.Ordinal));
            Assert.Null(call.Header("Mcp-Session-Id"));
        }
    }

    [Theory]
    [InlineData(ProtocolGeneration.Stateless2026)]
    [InlineData(ProtocolGeneration.Sessions2025)]
    public async Task Whoami_returns_the_authorization_header_the_server_received(ProtocolGeneration generation)
    {
        await using var server = await TestMcpServer.StartAsync();
        await using var connected = await McpClients.ConnectAsync(server.Endpoint, generation);
        connected.HttpClient.DefaultRequestHeaders.Authorization = new("Bearer", "spliced-token");

        var result = await connected.Client.CallToolAsync("whoami");

        Assert.Equal("Bearer spliced-token", Text(result));
    }

    [Theory]
    [InlineData(ProtocolGeneration.Stateless2026)]
    [InlineData(ProtocolGeneration.Sessions2025)]
    public async Task Progress_streams_one_notification_per_step(ProtocolGeneration generation)
    {
        await using var server = await TestMcpServer.StartAsync();
        var progress = new EndToEnd.RecordingProgress(expected: 3);
        await using var connected = await McpClients.ConnectAsync(server.Endpoint, generation, handlers: progress.Handlers);

        var result = await connected.Client.CallToolAsync("progress", new Dictionary<string, object?> { ["steps"] = 3 }, progress);

        Assert.Equal("done 3", Text(result));
        // The SDK may hand notifications to the handler after the result: wait for them, bounded.
        await progress.All.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal([1f, 2f, 3f], progress.Seen);
    }

    [Fact]
    public async Task Serves_mtls_and_admits_only_the_required_client_certificate()
    {
        using var serverCertificate = SelfSigned("CN=127.0.0.1", serverAuth: true);
        using var admitted = SelfSigned("CN=agent", serverAuth: false);
        using var stranger = SelfSigned("CN=stranger", serverAuth: false);
        await using var server = await TestMcpServer.StartAsync(new TestMcpServerOptions
        {
            ServerCertificate = serverCertificate,
            ClientCertificateRequirement = client => client?.Thumbprint == admitted.Thumbprint,
        });
        bool TrustServer(HttpRequestMessage _, X509Certificate2? certificate, X509Chain? __, SslPolicyErrors ___) =>
            certificate?.Thumbprint == serverCertificate.Thumbprint;

        Assert.Equal("https", server.Endpoint.Scheme);
        await using (var connected = await McpClients.ConnectAsync(server.Endpoint, ProtocolGeneration.Stateless2026, admitted, TrustServer))
        {
            Assert.Equal("hi", Text(await connected.Client.CallToolAsync("echo", new Dictionary<string, object?> { ["text"] = "hi" })));
        }

        // TLS 1.3: a refused client certificate shows up client-side only as a failed exchange.
        await Assert.ThrowsAnyAsync<Exception>(() => McpClients.ConnectAsync(server.Endpoint, ProtocolGeneration.Stateless2026, stranger, TrustServer));
        await Assert.ThrowsAnyAsync<Exception>(() => McpClients.ConnectAsync(server.Endpoint, ProtocolGeneration.Sessions2025, null, TrustServer));
    }

    private static string? Text(CallToolResult result) => result.Content.OfType<TextContentBlock>().SingleOrDefault()?.Text;

    private static X509Certificate2 SelfSigned(string subject, bool serverAuth)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [new Oid(serverAuth ? "1.3.6.1.5.5.7.3.1" : "1.3.6.1.5.5.7.3.2")], critical: false));
        if (serverAuth)
        {
            var san = new SubjectAlternativeNameBuilder();
            san.AddIpAddress(System.Net.IPAddress.Loopback);
            request.CertificateExtensions.Add(san.Build());
        }

        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddHours(1));
    }

    /// <summary>Progress&lt;T&gt; posts to the thread pool; reports must be in hand when the call returns.</summary>
}
