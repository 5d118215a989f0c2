using System.Diagnostics;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Fabric.Edge.Egress;
using Fabric.Edge.Tests.Fixtures;
using Microsoft.Extensions.DependencyInjection;

namespace Fabric.Edge.Tests.Egress;

/// <summary>
/// Issue 11 §2b and §3: the egress leg in forward-proxy mode, for MCP servers that cannot be pointed at a base URL.
/// Third-party clients as such servers would run them: curl through the https proxy listener with the server's SVID,
/// and Debian's python3-requests through the plain listener with a per-process proxy credential in HTTPS_PROXY and
/// the egress CA in REQUESTS_CA_BUNDLE. The tunnel is terminated with a certificate the egress CA minted for the host,
/// the call decided like base-URL mode, the API reached with the target's key, and its echo masked.
/// </summary>
[Collection(FabricCollection.Name)]
public sealed class EgressProxyTests(FabricFixture fabric) : IAsyncLifetime
{
    private FakeSaasApi _api = null!;
    private string _directory = null!;
    private string _secretValue = null!;
    private string _identity = null!;

    private string File(string name) => Path.Combine(_directory, name);

    private IReadOnlyList<Uri> ProxyUrls => fabric.EdgeApp.Services.GetRequiredService<EgressProxy>().Urls;

    private Uri HttpProxy => ProxyUrls.Single(u => u.Scheme == "http");

    private Uri HttpsProxy => ProxyUrls.Single(u => u.Scheme == "https");

    private string Api(string path) => new Uri(_api.BaseUrl, path).ToString();

    public async Task InitializeAsync()
    {
        _api = await FakeSaasApi.StartAsync();
        _directory = Path.Combine(Path.GetTempPath(), "egress-proxy-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_directory);
        var target = FabricFixture.Unique("saas");
        var secret = FabricFixture.Unique("saas-key");
        _secretValue = "xoxb-" + Guid.NewGuid().ToString("N");
        await fabric.PutAsync($"/v1/secrets/{secret}", new { value = _secretValue });
        await fabric.PutAsync($"/v1/egress/{target}", new
        {
            upstream = _api.BaseUrl.ToString(),
            credential = new { source = "local", @ref = secret, inject = new { header = "Authorization", format = "Bearer {secret}" } },
            tls = new { caFile = _api.CaFile },
        });
        _identity = $"spiffe://{FabricFixture.TrustDomain}/servers/{FabricFixture.Unique("slack-mcp")}";
        await fabric.PutAsync($"/v1/policies/{FabricFixture.Unique("egress-pol")}", new
        {
            subjects = new[] { _identity },
            rules = new object[] { new { egress = target, effect = "allow", methods = new[] { "GET", "POST" }, paths = new[] { "/api/*" } } },
        });
        using var svid = await fabric.MintSvidAsync(_identity);
        await System.IO.File.WriteAllTextAsync(File("svid.pem"), svid.ExportCertificatePem());
        await System.IO.File.WriteAllTextAsync(File("key.pem"), svid.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem());
        await System.IO.File.WriteAllTextAsync(File("bundle.pem"), string.Concat(fabric.Bundle.Select(c => c.ExportCertificatePem() + "\n")));
        using var http = fabric.AgentHttpClient(svid);
        await System.IO.File.WriteAllTextAsync(File("egress-ca.pem"), await http.GetStringAsync(new Uri(fabric.EdgeUrl, "/.well-known/fabric/egress-ca.pem")));
    }

    public async Task DisposeAsync()
    {
        await _api.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }

    /// <summary>curl through the https proxy listener, presenting the server's SVID to the proxy; the egress CA as its only CA.</summary>
    private Task<Curl.Result> CurlViaHttpsProxyAsync(string url, params string[] extra) => Curl.RunAsync(_directory, new[]
    {
        "--proxy", HttpsProxy.ToString(), "--proxy-cacert", File("bundle.pem"), "--proxy-cert", File("svid.pem"), "--proxy-key", File("key.pem"),
        "--cacert", File("egress-ca.pem"),
    }.Concat(extra).Append(url));

    [Fact]
    public async Task Curl_through_the_https_proxy_reaches_the_api_with_the_targets_key_and_gets_its_echo_masked()
    {
        var result = await CurlViaHttpsProxyAsync(Api("/api/chat.postMessage?channel=C1"), "-X", "POST", "-H", "Authorization: Bearer not-the-key", "-d", "{\"text\":\"hi\"}",
            "-H", "Content-Type: application/json");

        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Equal((200, 200), (result.Status, result.ConnectStatus));
        var reached = Assert.Single(_api.Requests);
        Assert.Equal("/api/chat.postMessage?channel=C1", reached.RawTarget);
        Assert.Equal("Bearer " + _secretValue, reached.Authorization);
        Assert.Equal("{\"text\":\"hi\"}", reached.Body);
        Assert.DoesNotContain(_secretValue, result.Body + result.Headers, StringComparison.Ordinal);
        var record = Assert.Single(await fabric.AuditAsync($"workload={Uri.EscapeDataString(_identity)}"));
        Assert.Equal(("egress", true, "POST", "/api/chat.postMessage"), (record.GetProperty("kind").GetString(), record.GetProperty("allowed").GetBoolean(),
            record.GetProperty("method").GetString(), record.GetProperty("name").GetString()));
    }

    [Fact]
    public async Task A_host_without_an_egress_target_gets_no_tunnel_and_the_attempt_is_audited()
    {
        var result = await CurlViaHttpsProxyAsync("https://127.0.0.1:9/api/x");

        Assert.NotEqual(0, result.ExitCode);
        Assert.Equal(403, result.ConnectStatus);
        Assert.Contains(await fabric.AuditAsync($"workload={Uri.EscapeDataString(_identity)}"), r =>
            r.GetProperty("method").GetString() == "CONNECT" && r.GetProperty("server").GetString() == "127.0.0.1:9"
            && r.GetProperty("reason").GetString() == "unknown-egress-target" && r.GetProperty("kind").GetString() == "egress");
        Assert.Empty(_api.Requests);
    }

    [Fact]
    public async Task One_tunnel_carries_several_requests_each_decided_on_its_own()
    {
        // curl given two URLs reuses its connection: one CONNECT, one TLS handshake, two requests inside.
        var result = await CurlViaHttpsProxyAsync(Api("/api/one"), "-v", Api("/admin/two"));
        Assert.Contains("Re-using existing connection", result.Error, StringComparison.Ordinal);
        Assert.Equal(1, System.Text.RegularExpressions.Regex.Count(result.Error, "CONNECT 127.0.0.1"));
        Assert.Equal("/api/one", Assert.Single(_api.Requests).RawTarget);
        Assert.Contains("egress-not-allowed", result.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Inside_the_tunnel_the_path_and_method_are_decided_like_base_url_mode()
    {
        var outside = await CurlViaHttpsProxyAsync(Api("/admin/users"));
        Assert.Equal((200, 403), (outside.ConnectStatus, outside.Status));
        Assert.Equal("egress-not-allowed", JsonDocument.Parse(outside.Body).RootElement.GetProperty("reason").GetString());
        var dotted = await CurlViaHttpsProxyAsync(Api("/api/../admin/users"), "--path-as-is");
        Assert.Equal(403, dotted.Status);
        var deleted = await CurlViaHttpsProxyAsync(Api("/api/x"), "-X", "DELETE");
        Assert.Equal(403, deleted.Status);
        Assert.Empty(_api.Requests);
    }

    [Fact]
    public async Task The_plain_listener_needs_a_per_process_credential_and_python_requests_uses_one()
    {
        // Without a credential (or with a made-up one): 407, no tunnel.
        var anonymous = await Curl.RunAsync(_directory, ["--proxy", HttpProxy.ToString(), "--cacert", File("egress-ca.pem"), Api("/api/x")]);
        Assert.Equal(407, anonymous.ConnectStatus);
        var forged = await Curl.RunAsync(_directory, ["--proxy", HttpProxy.ToString(), "--proxy-user", "p-0000000000000000:guess", "--cacert", File("egress-ca.pem"), Api("/api/x")]);
        Assert.Equal(407, forged.ConnectStatus);

        // What the launcher hands a server it starts: a credential for this edge, for that server's identity.
        var credentials = fabric.EdgeApp.Services.GetRequiredService<ProxyCredentials>();
        var issued = credentials.Issue(Fabric.Contracts.Identity.SpiffeId.Parse(_identity));
        var (exit, output, error) = await PythonRequestsAsync(issued, Api("/api/conversations.list"));
        Assert.True(exit == 0, output + error);
        Assert.StartsWith("200 ", output, StringComparison.Ordinal);
        Assert.DoesNotContain(_secretValue, output, StringComparison.Ordinal);
        Assert.Equal("Bearer " + _secretValue, Assert.Single(_api.Requests).Authorization);

        // The process ended: its credential is worthless.
        credentials.Revoke(issued.User);
        (exit, output, _) = await PythonRequestsAsync(issued, Api("/api/conversations.list"));
        Assert.NotEqual(0, exit);
        Assert.Contains("407", output, StringComparison.Ordinal);
        Assert.Single(_api.Requests);
    }

    [Fact]
    public async Task Node_undici_through_the_plain_listener_is_decided_keyed_and_masked()
    {
        var credentials = fabric.EdgeApp.Services.GetRequiredService<ProxyCredentials>();
        var issued = credentials.Issue(Fabric.Contracts.Identity.SpiffeId.Parse(_identity));
        var (exit, output, error) = await NodeClients.UndiciGetAsync(new UriBuilder(HttpProxy) { UserName = issued.User, Password = issued.Password }.Uri,
            File("egress-ca.pem"), Api("/api/chat.postMessage"));
        Assert.True(exit == 0, output + error);
        Assert.StartsWith("200 ", output, StringComparison.Ordinal);
        Assert.DoesNotContain(_secretValue, output, StringComparison.Ordinal);
        Assert.Equal("Bearer " + _secretValue, Assert.Single(_api.Requests).Authorization);

        // A path outside the allowed glob: the tunnel opens, the request inside is refused.
        (exit, output, _) = await NodeClients.UndiciGetAsync(new UriBuilder(HttpProxy) { UserName = issued.User, Password = issued.Password }.Uri,
            File("egress-ca.pem"), Api("/admin/users"));
        Assert.StartsWith("403 ", output, StringComparison.Ordinal);
        Assert.Contains("egress-not-allowed", output, StringComparison.Ordinal);
        Assert.Single(_api.Requests);
        credentials.Revoke(issued.User);
    }

    /// <summary>Debian's python3 with requests, configured only through the environment a launched server gets.</summary>
    private async Task<(int Exit, string Output, string Error)> PythonRequestsAsync(ProxyCredentials.Issued credential, string url)
    {
        var python = System.IO.File.Exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
        var start = new ProcessStartInfo(python) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add("""
            import sys, requests
            try:
                r = requests.get(sys.argv[1], timeout=20)
                print(r.status_code, r.text)
            except requests.exceptions.ProxyError as e:
                print("proxy error", e); sys.exit(3)
            """);
        start.ArgumentList.Add(url);
        start.Environment.Clear();
        start.Environment["PATH"] = "/usr/bin:/bin";
        start.Environment["HTTPS_PROXY"] = new UriBuilder(HttpProxy) { UserName = credential.User, Password = credential.Password }.Uri.ToString();
        start.Environment["REQUESTS_CA_BUNDLE"] = File("egress-ca.pem");
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await output, await error);
    }
}
