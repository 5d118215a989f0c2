using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Fabric.Contracts.Grains;
using Fabric.Contracts.Identity;
using Fabric.Edge.Identity;
using Fabric.Edge.Tests.Fixtures;
using Fabric.Hosting.Links;
using Microsoft.Extensions.DependencyInjection;

namespace Fabric.Edge.Tests.Links;

/// <summary>
/// Issue 10 §1, node attestation: join tokens are single-use, expire, can be revoked and are bound to a name;
/// the token goes only to a bootstrap endpoint that proved it belongs to the pinned CA; a revoked edge is cut
/// off (links aborted before the DELETE returns, next handshake and renewal refused, caches dropped).
/// </summary>
[Collection(FabricCollection.Name)]
public sealed class EdgeAttestationTests(FabricFixture fabric, Xunit.Abstractions.ITestOutputHelper output)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    [Fact]
    public async Task A_join_token_admits_its_edge_once_with_a_key_that_never_left_the_edge()
    {
        var name = EdgeName("once");
        var join = await CreateTokenAsync(name);

        var issued = await JoinAsync(join, name);

        Assert.Equal($"spiffe://{FabricFixture.TrustDomain}/fabric/edge/{name}", issued.Id.ToString());
        Assert.True(issued.Certificate.HasPrivateKey);
        Assert.True(CustomRootTrust.Chains(issued.Certificate, fabric.Bundle));
        var again = await Assert.ThrowsAsync<BootstrapClient.RefusedException>(() => JoinAsync(join, name));
        Assert.Equal(("join-token-used", HttpStatusCode.Forbidden), (again.Reason, again.Status));
        var edges = await fabric.Admin.GetFromJsonAsync<JsonElement[]>("/v1/edges", Json);
        Assert.Contains(edges!, e => e.GetProperty("name").GetString() == name && e.GetProperty("joinedAt").ValueKind == JsonValueKind.String);
    }

    [Fact]
    public async Task A_token_is_refused_with_its_reason_when_revoked_bound_to_another_name_or_unknown()
    {
        var revoked = await CreateTokenAsync(EdgeName("revoked"));
        using (var delete = await fabric.Admin.DeleteAsync($"/v1/join-tokens/{revoked.TokenId}"))
        {
            Assert.Equal(HttpStatusCode.NoContent, delete.StatusCode);
        }
        var forOther = await CreateTokenAsync(EdgeName("intended"));
        var unknown = forOther with { Token = JoinTokens.Format(forOther.TokenId, new string('A', 43)) };

        Assert.Equal("join-token-revoked", (await Assert.ThrowsAsync<BootstrapClient.RefusedException>(() => JoinAsync(revoked, revoked.EdgeName!))).Reason);
        Assert.Equal("join-token-wrong-edge", (await Assert.ThrowsAsync<BootstrapClient.RefusedException>(() => JoinAsync(forOther, EdgeName("thief")))).Reason);
        // A wrong secret for a real id answers exactly as an unknown id: the id alone tells a prober nothing.
        Assert.Equal("join-token-unknown", (await Assert.ThrowsAsync<BootstrapClient.RefusedException>(() => JoinAsync(unknown, forOther.EdgeName!))).Reason);
        // None of that spent the real token.
        Assert.NotNull(await JoinAsync(forOther, forOther.EdgeName!));
    }

    [Fact]
    public async Task An_expired_token_is_refused()
    {
        var name = EdgeName("late");
        var join = await CreateTokenAsync(name, ttlSeconds: 1);
        // Waiting for the clock to pass the token's expiry is the behaviour under test, not a synchronisation.
        var wait = join.ExpiresAt - DateTimeOffset.UtcNow + TimeSpan.FromMilliseconds(100);
        if (wait > TimeSpan.Zero)
        {
            await Task.Delay(wait);
        }

        var refused = await Assert.ThrowsAsync<BootstrapClient.RefusedException>(() => JoinAsync(join, name));

        Assert.Equal("join-token-expired", refused.Reason);
    }

    [Fact]
    public async Task The_token_is_never_sent_to_an_endpoint_that_does_not_prove_the_pinned_ca()
    {
        var name = EdgeName("pinned");
        var join = await CreateTokenAsync(name);
        var wrongPin = join with { CaSha256 = new string('0', 64) };

        var refused = await Assert.ThrowsAsync<BootstrapClient.RefusedException>(() => JoinAsync(wrongPin, name));

        Assert.Equal("ca-pin-mismatch", refused.Reason);
        // The token was not spent, so it never reached the endpoint.
        Assert.NotNull(await JoinAsync(join, name));
    }

    [Fact]
    public async Task A_malformed_csr_is_a_400_naming_the_field_and_does_not_spend_the_token()
    {
        var name = EdgeName("csr");
        var join = await CreateTokenAsync(name);
        using var http = BootstrapHttp(null);

        using var response = await http.PostAsync(new Uri(new Uri(join.BootstrapUrl), EdgeBootstrap.JoinPath),
            new StringContent(JsonSerializer.Serialize(new { token = join.Token, edgeName = name, csr = "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----" }), Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("\"csr\"", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.NotNull(await JoinAsync(join, name));
    }

    [Theory]
    [InlineData("""{"edgeName":"UPPER"}""", "edgeName")]
    [InlineData("""{"ttlSeconds":60}""", "edgeName")]
    [InlineData("""{"edgeName":"ok","ttlSeconds":"3600"}""", "ttlSeconds")]
    [InlineData("""{"edgeName":"ok","ttlSeconds":0}""", "ttlSeconds")]
    [InlineData("""{"edgeName":"ok","ttlSeconds":604801}""", "ttlSeconds")]
    [InlineData("""{"edgeName":"ok","edgeName":"other"}""", "edgeName")]
    [InlineData("""{"edgeName":"-dash"}""", "edgeName")]
    public async Task The_join_token_api_refuses_bad_bodies_naming_the_field(string body, string field)
    {
        using var response = await fabric.Admin.PostAsync("/v1/join-tokens", new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.True(problem.RootElement.GetProperty("errors").TryGetProperty(field, out _), problem.RootElement.ToString());
    }

    [Fact]
    public async Task Renewal_needs_an_edge_svid_a_token_is_no_substitute()
    {
        using var agent = await fabric.MintSvidAsync($"spiffe://{FabricFixture.TrustDomain}/agents/{FabricFixture.Unique("renewer")}");
        var url = new Uri(new Uri(BootstrapUrl), EdgeBootstrap.RenewPath);
        using var anonymous = BootstrapHttp(null);
        using var asAgent = BootstrapHttp(agent);
        var body = JsonSerializer.Serialize(new { csr = "x" });

        using var none = await anonymous.PostAsync(url, new StringContent(body, Encoding.UTF8, "application/json"));
        using var wrong = await asAgent.PostAsync(url, new StringContent(body, Encoding.UTF8, "application/json"));

        foreach (var response in new[] { none, wrong })
        {
            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
            Assert.Contains("not-an-edge", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task The_token_secret_is_in_no_list_no_log_and_no_audit()
    {
        var name = EdgeName("secret");
        var join = await CreateTokenAsync(name);
        await JoinAsync(join, name);
        Assert.True(JoinTokens.TryParse(join.Token, out _, out var secret));

        var listed = await fabric.Admin.GetStringAsync("/v1/join-tokens");
        var audit = await fabric.Admin.GetStringAsync("/v1/audit?limit=500");

        Assert.Contains(join.TokenId, listed, StringComparison.Ordinal);
        Assert.DoesNotContain(secret!, listed, StringComparison.Ordinal);
        Assert.DoesNotContain(secret!, audit, StringComparison.Ordinal);
        Assert.DoesNotContain(fabric.SiloLogs.Lines.Concat(fabric.EdgeLogs.Lines), line => line.Contains(secret!, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_revoked_edge_is_cut_off_before_the_delete_returns_and_stays_out()
    {
        var name = EdgeName("revoked-edge");
        var logs = new LogCapture();
        var edge = await fabric.StartEdgeAsync(name, await EdgeJoinArguments.ForAsync(fabric.Admin, name), logs);
        try
        {
        var id = SpiffeId.Parse($"spiffe://{FabricFixture.TrustDomain}/fabric/edge/{name}");
        var peers = fabric.SiloServices.GetRequiredService<LinkPeers>();
        var client = edge.Services.GetRequiredService<IClusterClient>();
        await client.Catalog().ListAsync();
        Assert.True(peers.OpenLinks(id) > 0, "the edge holds a gateway link before it is revoked");
        var identity = edge.Services.GetRequiredService<NodeIdentity>().Current;

        var clock = Stopwatch.StartNew();
        using var revoke = await fabric.Admin.DeleteAsync($"/v1/edges/{name}");
        var revokeTook = clock.Elapsed;

        Assert.Equal(HttpStatusCode.OK, revoke.StatusCode);
        Assert.Equal(0, peers.OpenLinks(id));
        Assert.True(peers.IsRefused(id));
        output.WriteLine($"DELETE /v1/edges/{name} returned in {revokeTook.TotalMilliseconds:F1} ms with the edge's links aborted");
        Assert.True(revokeTook < TimeSpan.FromSeconds(1), $"the revocation took {revokeTook.TotalMilliseconds:F0} ms");
        // Its caches went with it: the edge was told before its links were cut.
        Assert.False(edge.Services.GetRequiredService<Fabric.Edge.Caching.EdgeCache>().Trusted);
        // The next grain call cannot get through: every reconnect is refused at the handshake.
        await Assert.ThrowsAnyAsync<Exception>(() => client.Catalog().ListAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30)));
        // Its renewal is refused, and no new token is made for its name.
        var renewal = await Assert.ThrowsAsync<BootstrapClient.RefusedException>(() =>
            BootstrapClient.RenewAsync(new Uri(BootstrapUrl), identity, ["localhost"], ["127.0.0.1"], TimeProvider.System, CancellationToken.None));
        Assert.Equal("edge-revoked", renewal.Reason);
        using var token = await fabric.Admin.PostAsJsonAsync("/v1/join-tokens", new { edgeName = name });
        Assert.Equal(HttpStatusCode.Conflict, token.StatusCode);
        var edges = await fabric.Admin.GetFromJsonAsync<JsonElement[]>("/v1/edges", Json);
        Assert.True(edges!.Single(e => e.GetProperty("name").GetString() == name).GetProperty("revoked").GetBoolean());
        }
        finally
        {
            await edge.StopAsync();
            await edge.DisposeAsync();
        }
    }

    [Fact]
    public async Task Control_a_live_edge_renews_over_mtls_and_keeps_its_name()
    {
        var name = EdgeName("renews");
        var issued = await JoinAsync(await CreateTokenAsync(name), name);
        var current = new NodeIdentity.Snapshot(issued.Id, issued.Certificate, issued.Bundles, issued.ExpiresAt);

        var renewed = await BootstrapClient.RenewAsync(new Uri(BootstrapUrl), current, ["localhost"], ["127.0.0.1"], TimeProvider.System, CancellationToken.None);

        Assert.Equal(issued.Id, renewed.Id);
        Assert.NotEqual(issued.Certificate.GetPublicKeyString(), renewed.Certificate.GetPublicKeyString());
    }

    [Fact]
    public async Task The_local_join_file_is_private_holds_an_unused_token_and_is_replaced_once_used()
    {
        var path = Path.Combine(fabric.DataDirectory, "edge-join.json");
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        }
        var local = JsonSerializer.Deserialize<JoinDocument>(await File.ReadAllTextAsync(path), Json)!;
        var tokens = await fabric.Admin.GetFromJsonAsync<JsonElement[]>("/v1/join-tokens", Json);
        // The fixture's own edge joined through an earlier one, now used; the file holds a fresh, unbound one.
        Assert.Contains(tokens!, t => t.GetProperty("usedBy").ValueKind == JsonValueKind.String && t.GetProperty("usedBy").GetString() == "e2e");
        Assert.Equal("pending", tokens!.Single(t => t.GetProperty("tokenId").GetString() == local.TokenId).GetProperty("state").GetString());

        var name = EdgeName("local");
        await JoinAsync(local, name);

        var replaced = JsonSerializer.Deserialize<JoinDocument>(await File.ReadAllTextAsync(path), Json)!;
        Assert.NotEqual(local.TokenId, replaced.TokenId);
        Assert.Equal("join-token-used", (await Assert.ThrowsAsync<BootstrapClient.RefusedException>(() => JoinAsync(local, EdgeName("replay")))).Reason);
    }

    public static TheoryData<string, string, int> HostileJoins => new()
    {
        // content type, body, expected status: never a 500, never a spent token
        { "application/json", "{\"token\":\"TOKEN\",\"token\":\"fjt1.0000000000000000.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\",\"edgeName\":\"NAME\",\"csr\":\"x\"}", 400 },
        { "application/json", "[]", 400 },
        { "text/plain", "{\"token\":\"TOKEN\",\"edgeName\":\"NAME\",\"csr\":\"x\"}", 400 },
        { "application/json", "{\"token\":\"TOKEN\",\"edgeName\":\"NAME\",\"csr\":\"\u00ff\u00fe\"}", 400 },
        { "application/json", "{\"token\":\"FJT1.TOKEN\",\"edgeName\":\"NAME\",\"csr\":\"x\"}", 400 },
        { "application/json", "{\"token\":\"TOKEN\",\"edgeName\":\"NAME\",\"csr\":\"" + new string('A', 20_000) + "\"}", 413 },
    };

    [Theory]
    [MemberData(nameof(HostileJoins))]
    public async Task A_hostile_join_request_is_refused_cleanly_and_spends_nothing(string contentType, string template, int status)
    {
        var name = EdgeName("hostile");
        var join = await CreateTokenAsync(name);
        using var http = BootstrapHttp(null);
        var body = template.Replace("FJT1.TOKEN", join.Token.ToUpperInvariant(), StringComparison.Ordinal)
            .Replace("TOKEN", join.Token, StringComparison.Ordinal).Replace("NAME", name, StringComparison.Ordinal);
        // The \u00ff\u00fe marker becomes two bytes that are no UTF-8 at all, inside a JSON string.
        var bytes = Encoding.UTF8.GetBytes(body.Replace("\u00ff\u00fe", "@@", StringComparison.Ordinal));
        var marker = Array.IndexOf(bytes, (byte)'@');
        if (marker >= 0)
        {
            (bytes[marker], bytes[marker + 1]) = ((byte)0xFF, (byte)0xFE);
        }
        using var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue(contentType);

        using var response = await http.PostAsync(new Uri(new Uri(join.BootstrapUrl), EdgeBootstrap.JoinPath), content);

        Assert.Equal(status, (int)response.StatusCode);
        Assert.NotNull(await JoinAsync(join, name));
    }

    [Fact]
    public async Task Revoking_an_edge_that_never_existed_is_a_404()
    {
        using var response = await fabric.Admin.DeleteAsync($"/v1/edges/{EdgeName("ghost")}");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    private string BootstrapUrl => fabric.SiloServices.GetRequiredService<Fabric.Silo.Bootstrap.JoinTokenIssuer>().BootstrapUrl;

    private static string EdgeName(string prefix) => FabricFixture.Unique(prefix).ToLowerInvariant();

    private async Task<JoinDocument> CreateTokenAsync(string name, int ttlSeconds = 600)
    {
        using var response = await fabric.Admin.PostAsJsonAsync("/v1/join-tokens", new { edgeName = name, ttlSeconds });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JoinDocument>(Json))!;
    }

    private static Task<BootstrapClient.Issued> JoinAsync(JoinDocument join, string name) =>
        BootstrapClient.JoinAsync(join, name, ["localhost"], ["127.0.0.1"], TimeProvider.System, CancellationToken.None);

    private HttpClient BootstrapHttp(System.Security.Cryptography.X509Certificates.X509Certificate2? certificate) =>
        McpClients.CreateHttpClient(certificate, (_, presented, _, _) =>
            presented is not null && X509SvidValidator.Validate(presented, null, TrustBundleSet.Empty.With(FabricFixture.TrustDomain, fabric.Bundle), DateTimeOffset.UtcNow).IsValid);
}
