using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Fabric.Contracts.Grains;
using Fabric.Contracts.Identity;
using Fabric.Edge.Tests.EndToEnd;
using Fabric.Edge.Tests.Fixtures;
using Fabric.Hosting.Links;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Fabric.Edge.Tests.Links;

/// <summary>
/// A second fabric, trust domain <c>b.test</c>, whose silo is <c>spiffe://b.test/fabric/silo/b-silo</c>, and which also
/// publishes its bundle in the <c>https_web</c> profile with a "Web PKI" certificate for <c>localhost</c> from a CA the
/// test trusts (<see cref="WebRoot"/>).
/// </summary>
public sealed class OtherDomainFabric : FabricFixture
{
    public const string Domain = "b.test";

    private readonly string _webDirectory = Path.Combine(Path.GetTempPath(), "fabric-web-" + Guid.NewGuid().ToString("N"));

    public OtherDomainFabric()
    {
        Directory.CreateDirectory(_webDirectory);
        using var caKey = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
        var caRequest = new System.Security.Cryptography.X509Certificates.CertificateRequest("CN=Test Web PKI root", caKey, System.Security.Cryptography.HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new System.Security.Cryptography.X509Certificates.X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new System.Security.Cryptography.X509Certificates.X509KeyUsageExtension(System.Security.Cryptography.X509Certificates.X509KeyUsageFlags.KeyCertSign, true));
        WebRoot = caRequest.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        using var key = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
        var request = new System.Security.Cryptography.X509Certificates.CertificateRequest("CN=localhost", key, System.Security.Cryptography.HashAlgorithmName.SHA256);
        var san = new System.Security.Cryptography.X509Certificates.SubjectAlternativeNameBuilder();
        san.AddDnsName("localhost");
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new System.Security.Cryptography.X509Certificates.X509EnhancedKeyUsageExtension([new System.Security.Cryptography.Oid("1.3.6.1.5.5.7.3.1")], false));
        using var leaf = request.Create(WebRoot, DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddHours(12), [9, 8, 7, 6]);
        File.WriteAllText(Path.Combine(_webDirectory, "web.crt"), leaf.ExportCertificatePem());
        File.WriteAllText(Path.Combine(_webDirectory, "web.key"), key.ExportPkcs8PrivateKeyPem());
    }

    public System.Security.Cryptography.X509Certificates.X509Certificate2 WebRoot { get; }

    protected override IEnumerable<string> SiloArguments() =>
    [
        $"--Fabric:TrustDomain={Domain}", "--Fabric:Silo:Name=b-silo",
        "--Fabric:Federation:WebUrl=https://127.0.0.1:0",
        $"--Fabric:Federation:WebCertificateFile={Path.Combine(_webDirectory, "web.crt")}",
        $"--Fabric:Federation:WebKeyFile={Path.Combine(_webDirectory, "web.key")}",
    ];

    protected override IEnumerable<string> EdgeArguments() => [$"--Fabric:TrustDomain={Domain}"];
}

/// <summary>
/// Fabric A: <c>fabric.local</c>, whose silo trusts, for <c>https_web</c> bundle endpoints, the roots of a file
/// (<c>Fabric:Federation:WebTrustFile</c>) the federation fixture fills with B's "Web PKI" root.
/// </summary>
public sealed class WebTrustingFabric(string webTrustFile) : FabricFixture
{
    protected override IEnumerable<string> SiloArguments() => [$"--Fabric:Federation:WebTrustFile={webTrustFile}"];
}

/// <summary>Two fabrics in one process: <c>fabric.local</c> (A) federating with <c>b.test</c> (B).</summary>
public sealed class FederationFixture : IAsyncLifetime
{
    private static readonly string WebTrustFile = Path.Combine(Path.GetTempPath(), "fabric-web-trust-" + Guid.NewGuid().ToString("N") + ".pem");

    public FabricFixture A { get; } = new WebTrustingFabric(WebTrustFile);

    public OtherDomainFabric B { get; } = new();

    public async Task InitializeAsync()
    {
        await File.WriteAllTextAsync(WebTrustFile, B.WebRoot.ExportCertificatePem());
        await A.InitializeAsync();
        await B.InitializeAsync();
    }

    public async Task DisposeAsync()
    {
        await B.DisposeAsync();
        await A.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class FederationCollection : ICollectionFixture<FederationFixture>
{
    public const string Name = "federation";
}

/// <summary>
/// Issue 10 §3: SPIFFE Federation between two fabrics. B publishes its bundle (JWK Set, https_spiffe: served with its
/// silo's SVID); A federates with it, and its edge admits B's agents, validated against B's bundle only, exactly where
/// a policy names B's domain. A hostile bundle endpoint (sequence going back, garbage, gone) never empties the domain.
/// </summary>
[Collection(FederationCollection.Name)]
public sealed class FederationTests(FederationFixture fabrics)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private const string EndpointId = $"spiffe://{OtherDomainFabric.Domain}/fabric/silo/b-silo";

    private FabricFixture A => fabrics.A;

    private OtherDomainFabric B => fabrics.B;

    [Fact]
    public async Task A_federated_agent_is_admitted_only_where_a_policy_names_its_domain_and_validated_with_its_own_bundle()
    {
        var status = await FederateAsync(BundleEndpoint(B));

        Assert.False(status.TryGetProperty("lastError", out var lastError) && lastError.ValueKind == JsonValueKind.String, status.ToString());
        Assert.True(status.GetProperty("sequence").GetInt64() >= 1);
        Assert.True(status.GetProperty("x509Authorities").GetInt32() >= 1);
        Assert.True(status.GetProperty("jwtAuthorities").GetInt32() >= 1);
        // Installed on A's edge before the PUT returned, beside (never merged into) A's own bundle.
        var bundles = A.EdgeApp.Services.GetRequiredService<NodeIdentity>().Bundles;
        Assert.True(bundles.TryGet(OtherDomainFabric.Domain, out var bRoots));
        Assert.True(bundles.TryGet(FabricFixture.TrustDomain, out var aRoots));
        Assert.DoesNotContain(bRoots, r => aRoots.Any(a => a.Thumbprint == r.Thumbprint));
        var listed = await A.Admin.GetFromJsonAsync<JsonElement>("/v1/federation", Json);
        Assert.Contains(listed.GetProperty("trustDomains").EnumerateArray(), d => d.GetProperty("trustDomain").GetString() == OtherDomainFabric.Domain);

        var scenario = await Scenario.CreateAsync(A, server => [new { server, effect = "allow", tools = new[] { "echo" } }]);
        var foreignAgent = $"spiffe://{OtherDomainFabric.Domain}/agents/{FabricFixture.Unique("visitor")}";
        using var foreign = await B.MintSvidAsync(foreignAgent);

        // No policy names b.test: admitted at TLS (a valid SVID of a federated domain), denied by default.
        Assert.False(await CallsEchoAsync(scenario.Server, foreign));
        // A whole-domain subject of A's own domain does not stretch to a federated one.
        await A.PutAsync($"/v1/policies/{scenario.Policy}", new { subjects = new[] { $"spiffe://{FabricFixture.TrustDomain}/*" }, rules = new[] { new { server = scenario.Server, effect = "allow" } } });
        Assert.False(await CallsEchoAsync(scenario.Server, foreign));
        // A policy that names b.test admits it.
        await A.PutAsync($"/v1/policies/{scenario.Policy}", new { subjects = new[] { $"spiffe://{OtherDomainFabric.Domain}/agents/*" }, rules = new[] { new { server = scenario.Server, effect = "allow" } } });
        Assert.True(await CallsEchoAsync(scenario.Server, foreign));

        var records = await A.AuditAsync($"workload={Uri.EscapeDataString(foreignAgent)}");
        Assert.Contains(records, r => r.GetProperty("allowed").GetBoolean());
        Assert.All(records, r => Assert.Equal(status.GetProperty("sequence").GetInt64(), r.GetProperty("bundleSequence").GetInt64()));
        Assert.Contains(records, r => r.GetProperty("reason").GetString() == "no-matching-allow");

        // An SVID minted by a CA A does not federate with, claiming b.test, never gets past the handshake.
        var rogueCa = Fabric.Silo.Identity.SvidIssuer.CreateRoot(OtherDomainFabric.Domain, DateTimeOffset.UtcNow, TimeSpan.FromDays(1));
        var rogue = Fabric.Silo.Identity.SvidIssuer.Issue(rogueCa, new SvidRequest(foreignAgent, TimeSpan.FromHours(1), [], []), DateTimeOffset.UtcNow);
        using var rogueCertificate = SvidPem.LoadCertificate(rogue.CertificatePem, rogue.PrivateKeyPem);
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => CallsEchoAsync(scenario.Server, rogueCertificate));
    }

    [Fact]
    public async Task A_bundle_endpoint_that_goes_backwards_breaks_or_vanishes_never_empties_the_domain()
    {
        var served = await B.Admin.GetStringAsync("/v1/bundle");
        var realJson = await new HttpClient(new SocketsHttpHandler
        {
            SslOptions = { RemoteCertificateValidationCallback = (_, c, _, _) => c is System.Security.Cryptography.X509Certificates.X509Certificate2 leaf && CustomRootTrust.Chains(leaf, SvidPem.LoadCertificates(served)) },
        }).GetStringAsync(BundleEndpoint(B));
        var document = JsonDocument.Parse(realJson).RootElement;
        string WithSequence(long sequence) => JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["keys"] = document.GetProperty("keys"),
            ["spiffe_sequence"] = sequence,
        });
        var answer = WithSequence(50);
        await using var hostile = await HostileBundleEndpoint.StartAsync(B, () => answer);
        var authority = A.SiloServices.GetRequiredService<IGrainFactory>().Federation(OtherDomainFabric.Domain);

        var first = await FederateAsync(hostile.Url, hostile.SpiffeId);
        Assert.Equal(50, first.GetProperty("sequence").GetInt64());

        foreach (var (next, error) in new[] { (WithSequence(49), "went backwards"), ("{\"keys\":[{\"use\":\"x509-svid\",\"x5c\":[\"AAAA\"]}]}", "malformed"), ("""{"keys":[{"use":"enc","kty":"EC"}]}""", "not a SPIFFE authority"), ("[]", "not a JWK Set") })
        {
            answer = next;
            var status = (await authority.RefreshAsync())!;
            Assert.Contains(error, status.LastError, StringComparison.Ordinal);
            Assert.Equal(50, status.Sequence);
            Assert.True(status.X509Authorities >= 1);
        }
        await hostile.DisposeAsync();
        var gone = (await authority.RefreshAsync())!;
        Assert.Contains("could not be read", gone.LastError, StringComparison.Ordinal);
        Assert.Equal(50, gone.Sequence);
        Assert.True(A.EdgeApp.Services.GetRequiredService<NodeIdentity>().Bundles.TryGet(OtherDomainFabric.Domain, out _));
        Assert.InRange(gone.NextRefresh!.Value - DateTimeOffset.UtcNow, TimeSpan.FromSeconds(20), TimeSpan.FromSeconds(31));

        // Put the real endpoint back for the other test (its sequence is lower: a re-configuration starts afresh).
        await A.Admin.DeleteAsync($"/v1/federation/{OtherDomainFabric.Domain}");
    }

    [Fact]
    public async Task The_bundle_is_also_published_in_the_https_web_profile_with_the_configured_certificate()
    {
        var web = B.SiloServices.GetRequiredService<Fabric.Silo.Bootstrap.WebBundleEndpoint>().Url!.Replace("127.0.0.1", "localhost", StringComparison.Ordinal);
        using var handler = new SocketsHttpHandler
        {
            SslOptions =
            {
                // Web PKI as a federating peer would check it: a chain to a trusted root and the host name.
                RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
                    (errors & System.Net.Security.SslPolicyErrors.RemoteCertificateNameMismatch) == 0
                    && certificate is System.Security.Cryptography.X509Certificates.X509Certificate2 leaf && CustomRootTrust.Chains(leaf, [B.WebRoot]),
            },
        };
        using var http = new HttpClient(handler);

        var json = await http.GetStringAsync(web + "/.well-known/spiffe-bundle");

        var bundle = SpiffeBundle.TryParse(OtherDomainFabric.Domain, System.Text.Encoding.UTF8.GetBytes(json), out var error);
        Assert.True(bundle is not null, error);
        Assert.Equal(SvidPem.LoadCertificates(await B.Admin.GetStringAsync("/v1/bundle"))[0].Thumbprint, bundle.X509Authorities[0].Thumbprint);
        // Nothing but the bundle is served there.
        using var other = await http.GetAsync(web + "/bootstrap/v1/bundle");
        Assert.Equal(HttpStatusCode.NotFound, other.StatusCode);
    }

    [Fact]
    public async Task A_bundle_endpoint_in_the_https_web_profile_is_consumed_with_the_host_name_and_the_configured_roots_checked()
    {
        var web = B.SiloServices.GetRequiredService<Fabric.Silo.Bootstrap.WebBundleEndpoint>().Url! + "/.well-known/spiffe-bundle";
        var authority = A.SiloServices.GetRequiredService<IGrainFactory>().Federation(OtherDomainFabric.Domain);
        async Task<FederationStatus> Federate(string url)
        {
            using var response = await A.Admin.PutAsJsonAsync($"/v1/federation/{OtherDomainFabric.Domain}", new { bundleEndpointUrl = url, profile = "https_web" });
            Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
            return (await authority.GetStatusAsync())!;
        }
        await A.Admin.DeleteAsync($"/v1/federation/{OtherDomainFabric.Domain}");

        // The certificate names localhost, not 127.0.0.1: a name mismatch is refused even though the root is trusted.
        var mismatch = await Federate(web);
        Assert.Contains("could not be read", mismatch.LastError, StringComparison.Ordinal);
        Assert.Equal(0, mismatch.X509Authorities);
        // The https_spiffe listener's certificate (the silo's SVID) does not chain to the Web PKI roots.
        var wrongRoot = await Federate(BundleEndpoint(B).Replace("127.0.0.1", "localhost", StringComparison.Ordinal));
        Assert.Contains("could not be read", wrongRoot.LastError, StringComparison.Ordinal);

        var good = await Federate(web.Replace("127.0.0.1", "localhost", StringComparison.Ordinal));
        Assert.Null(good.LastError);
        Assert.Equal("https_web", good.Profile);
        Assert.True(good.X509Authorities >= 1 && good.JwtAuthorities >= 1);
        Assert.True(A.EdgeApp.Services.GetRequiredService<NodeIdentity>().Bundles.TryGet(OtherDomainFabric.Domain, out var roots));
        Assert.Equal(SvidPem.LoadCertificates(await B.Admin.GetStringAsync("/v1/bundle"))[0].Thumbprint, roots[0].Thumbprint);
        await A.Admin.DeleteAsync($"/v1/federation/{OtherDomainFabric.Domain}");
    }

    [Theory]
    [InlineData("""{"bundleEndpointUrl":"http://b.test/bundle","profile":"https_web"}""", "bundleEndpointUrl")]
    [InlineData("""{"bundleEndpointUrl":"https://b.test/bundle","profile":"web"}""", "profile")]
    [InlineData("""{"bundleEndpointUrl":"https://b.test/bundle","profile":"https_spiffe","endpointSpiffeId":"spiffe://other.test/x","bootstrapBundle":"x"}""", "endpointSpiffeId")]
    [InlineData("""{"bundleEndpointUrl":"https://b.test/bundle","profile":"https_spiffe","endpointSpiffeId":"spiffe://b.test/x"}""", "bootstrapBundle")]
    public async Task The_federation_api_refuses_bad_bodies_naming_the_field(string body, string field)
    {
        using var response = await A.Admin.PutAsync($"/v1/federation/{OtherDomainFabric.Domain}", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.True(problem.RootElement.GetProperty("errors").TryGetProperty(field, out _), problem.RootElement.ToString());
    }

    [Fact]
    public async Task A_fabric_cannot_federate_with_itself()
    {
        using var response = await A.Admin.PutAsJsonAsync($"/v1/federation/{FabricFixture.TrustDomain}", new { bundleEndpointUrl = "https://x/b", profile = "https_web" });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    private Task<JsonElement> FederateAsync(string url, string endpointSpiffeId = EndpointId) =>
        FederationRequests.FederateAsync(A.Admin, OtherDomainFabric.Domain, url, endpointSpiffeId, B.Admin);

    private static string BundleEndpoint(FabricFixture fabric) => FederationRequests.BundleEndpoint(fabric.SiloServices);

    private async Task<bool> CallsEchoAsync(string server, System.Security.Cryptography.X509Certificates.X509Certificate2 agent)
    {
        try
        {
            await using var client = await A.ConnectAsync(server, agent, ProtocolGeneration.Stateless2026);
            return (await client.Client.CallToolAsync("echo", new Dictionary<string, object?> { ["text"] = "from b" })).IsError != true;
        }
        catch (ModelContextProtocol.McpException)
        {
            return false;
        }
        catch (HttpRequestException ex) when (ex.StatusCode == HttpStatusCode.Forbidden)
        {
            // Denied at the HTTP level (the server's discovery, answered by the edge): admitted at TLS, refused by policy.
            return false;
        }
    }

    /// <summary>A bundle endpoint that presents a valid b.test SVID and answers whatever the test says.</summary>
    private sealed class HostileBundleEndpoint : IAsyncDisposable
    {
        private WebApplication? _app;

        public string Url { get; private set; } = "";

        public string SpiffeId { get; } = $"spiffe://{OtherDomainFabric.Domain}/fabric/silo/hostile";

        public static async Task<HostileBundleEndpoint> StartAsync(FabricFixture b, Func<string> answer)
        {
            var endpoint = new HostileBundleEndpoint();
            // A b.test silo SVID: signed with b.test's CA key (the grain never issues /fabric/ IDs).
            var certificate = await FabricFixture.MintWithTheCaKeyAsync(b.SiloServices, endpoint.SpiffeId, ["localhost"], ["127.0.0.1"]);
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, l => l.UseHttps(certificate)));
            endpoint._app = builder.Build();
            endpoint._app.MapGet("/bundle", () => Results.Text(answer(), "application/json"));
            await endpoint._app.StartAsync();
            endpoint.Url = endpoint._app.Urls.First() + "/bundle";
            return endpoint;
        }

        public async ValueTask DisposeAsync()
        {
            if (_app is { } app)
            {
                _app = null;
                await app.StopAsync();
                await app.DisposeAsync();
            }
        }
    }
}
