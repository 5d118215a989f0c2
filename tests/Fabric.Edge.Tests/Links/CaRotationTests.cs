using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Fabric.Contracts.Grains;
using Fabric.Contracts.Identity;
using Fabric.Edge.Identity;
using Fabric.Edge.Tests.EndToEnd;
using Fabric.Edge.Tests.Fixtures;
using Fabric.Hosting.Links;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace Fabric.Edge.Tests.Links;

/// <summary>A fabric of its own for CA rotation (it changes the root everyone trusts), with short-lived node SVIDs.</summary>
public sealed class RotationFabricFixture : FabricFixture
{
    protected override IEnumerable<string> SiloArguments() =>
        ["--Fabric:Bootstrap:EdgeSvidTtl=00:00:08", "--Fabric:Silo:SvidTtl=00:00:08", "--Fabric:Ca:LeafExpirySlack=00:00:01"];
}

[CollectionDefinition(Name)]
public sealed class RotationFabricCollection : ICollectionFixture<RotationFabricFixture>
{
    public const string Name = "rotation-fabric";
}

/// <summary>
/// Issue 10 §2: <c>POST /v1/ca:rotate</c> under continuous agent traffic through two edges, every call on a fresh
/// TLS connection: zero failed handshakes, zero failed calls; an agent SVID from the old root keeps working, a new one
/// chains to the new root only; the old root retires once the last SVID it signed expired, never before.
/// </summary>
[Collection(RotationFabricCollection.Name)]
public sealed class CaRotationTests(RotationFabricFixture fabric, ITestOutputHelper output)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    [Fact]
    public async Task A_rotation_under_traffic_on_two_edges_fails_nothing_and_the_old_root_retires_only_after_its_last_svid()
    {
        // Every SVID the old root signs here is short-lived (the scenario's own too), so it can retire within the test.
        var scenario = await Scenario.CreateAsync(fabric, server => [new { server, effect = "allow", tools = new[] { "echo" } }], svidTtlSeconds: 12);
        var second = await fabric.StartEdgeAsync("rotation-2", await EdgeJoinArguments.ForAsync(fabric.Admin, "rotation-2"));
        try
        {
            var before = await StatusAsync();
            var oldRoot = Assert.Single(before.Roots);
            // An agent SVID from the old root, short-lived so the old root can retire within the test.
            using var oldAgent = await fabric.MintSvidAsync(scenario.Agent, ttlSeconds: 12);
            var bundle = new LiveBundle(fabric.Admin);
            await bundle.RefreshAsync();
            var edges = new[] { fabric.EdgeUrl, new Uri(Address(second)) };
            var failures = new ConcurrentQueue<string>();
            var calls = 0;
            using var stop = new CancellationTokenSource();
            var traffic = edges.Select(edge => Task.Run(async () =>
            {
                while (!stop.IsCancellationRequested)
                {
                    try
                    {
                        // A fresh connection every call: every call is a handshake against the live bundle.
                        await using var agent = await McpClients.ConnectAsync(new Uri(edge, "/mcp/" + scenario.Server), ProtocolGeneration.Stateless2026,
                            oldAgent, (_, certificate, _, _) => bundle.Validates(certificate));
                        var result = await agent.Client.CallToolAsync("echo", new Dictionary<string, object?> { ["text"] = "rotating" });
                        if (result.IsError == true)
                        {
                            failures.Enqueue($"{edge}: tool error");
                        }
                        Interlocked.Increment(ref calls);
                    }
                    catch (Exception ex)
                    {
                        failures.Enqueue($"{edge}: {ex.GetType().Name}: {ex.Message}");
                    }
                }
            })).ToArray();
            var poller = Task.Run(async () =>
            {
                while (!stop.IsCancellationRequested)
                {
                    await bundle.RefreshAsync();
                    await Task.Delay(50);
                }
            });

            using var rotate = await fabric.Admin.PostAsync("/v1/ca:rotate", null);
            Assert.Equal(HttpStatusCode.OK, rotate.StatusCode);
            var switched = (await rotate.Content.ReadFromJsonAsync<CaStatus>(Json))!;
            var newRoot = Assert.Single(switched.Roots, r => r.State == "active");
            Assert.NotEqual(oldRoot.Sha256, newRoot.Sha256);
            Assert.Equal("retiring", Assert.Single(switched.Roots, r => r.Sha256 == oldRoot.Sha256).State);
            Assert.Equal(before.Sequence + 2, switched.Sequence);
            // A second rotation waits for this one to finish.
            using (var again = await fabric.Admin.PostAsync("/v1/ca:rotate", null))
            {
                Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
                Assert.Contains("rotation-in-progress", await again.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            }
            // Both edges and the silo hold both roots now, before anything signed by the new one is presented.
            foreach (var services in new[] { fabric.EdgeApp.Services, second.Services, fabric.SiloServices })
            {
                Assert.True(services.GetRequiredService<NodeIdentity>().Bundles.TryGet(FabricFixture.TrustDomain, out var roots));
                Assert.Equal(2, roots.Count);
            }

            // Once agents can have fetched it, the edges move to the new root: their serving certificates change mid-traffic.
            await bundle.WaitForSequenceAsync(switched.Sequence);
            foreach (var edge in new[] { fabric.EdgeApp, second })
            {
                await edge.Services.GetRequiredService<EdgeJoin>().RenewNowAsync();
                Assert.True(Chains(edge.Services.GetRequiredService<NodeIdentity>().Current.Certificate, newRoot.Sha256));
            }
            var callsAtSwitch = Volatile.Read(ref calls);
            while (Volatile.Read(ref calls) < callsAtSwitch + 20 && failures.IsEmpty)
            {
                await Task.Delay(20);
            }

            // A new agent SVID chains to the new root only.
            using var newAgent = await fabric.MintSvidAsync(scenario.Agent, ttlSeconds: 60);
            Assert.True(Chains(newAgent, newRoot.Sha256));
            Assert.False(Chains(newAgent, oldRoot.Sha256));
            await using (var fresh = await McpClients.ConnectAsync(fabric.McpUrl(scenario.Server), ProtocolGeneration.Stateless2026, newAgent,
                (_, certificate, _, _) => bundle.Validates(certificate)))
            {
                Assert.NotEqual(true, (await fresh.Client.CallToolAsync("echo", new Dictionary<string, object?> { ["text"] = "new root" })).IsError);
            }

            stop.Cancel();
            await Task.WhenAll([.. traffic, poller]);
            output.WriteLine($"{calls} calls through two edges during the rotation, {failures.Count} failed");
            Assert.True(failures.IsEmpty, string.Join("\n", failures.Take(10)));
            Assert.True(calls > 20, $"only {calls} calls ran");

            // Retirement: not before the last SVID the old root signed has expired, then at the next maintenance.
            var authority = fabric.SiloServices.GetRequiredService<IGrainFactory>().Authority(FabricFixture.TrustDomain);
            var early = await authority.MaintainAsync();
            Assert.Contains(early.Roots, r => r.Sha256 == oldRoot.Sha256);
            var retireAt = Later(early.Roots.Single(r => r.Sha256 == oldRoot.Sha256));
            Assert.True(retireAt >= oldAgent.NotAfter.ToUniversalTime(), $"the old root would retire at {retireAt:O}, before its agent SVID expires at {oldAgent.NotAfter.ToUniversalTime():O}");
            var wait = retireAt - DateTimeOffset.UtcNow + TimeSpan.FromMilliseconds(200);
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait); // the behaviour under test is "once its last SVID has expired"
            }
            var retired = await authority.MaintainAsync();
            Assert.Equal(newRoot.Sha256, Assert.Single(retired.Roots).Sha256);
            Assert.True(retired.Sequence > switched.Sequence);
            await bundle.RefreshAsync();
            Assert.Equal(retired.Sequence, bundle.Sequence);
            Assert.Single(bundle.Roots);
        }
        finally
        {
            await second.StopAsync();
            await second.DisposeAsync();
        }
    }

    [Fact]
    public async Task The_bundle_endpoint_names_its_sequence_and_it_never_goes_back()
    {
        using var first = await fabric.Admin.GetAsync("/v1/bundle");
        var sequence = long.Parse(first.Headers.GetValues("Fabric-Bundle-Sequence").Single(), System.Globalization.CultureInfo.InvariantCulture);
        var status = await StatusAsync();

        Assert.True(status.Sequence >= sequence);
        Assert.True(sequence >= 1);
    }

    private static DateTimeOffset Later(CaRootInfo root) =>
        root.LastLeafExpiry is { } last && last > (root.RetireAfter ?? DateTimeOffset.MinValue) ? last : root.RetireAfter!.Value;

    private async Task<CaStatus> StatusAsync() => (await fabric.Admin.GetFromJsonAsync<CaStatus>("/v1/ca", Json))!;

    private static bool Chains(X509Certificate2 leaf, string rootSha256) =>
        leaf.IssuerName.RawData.Length > 0 && LiveBundle.Current(rootSha256) is { } root && CustomRootTrust.Chains(leaf, [root]);

    private static string Address(WebApplication app) =>
        app.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>()
            .Features.Get<Microsoft.AspNetCore.Hosting.Server.Features.IServerAddressesFeature>()!.Addresses.First();

    /// <summary>What a well-behaved agent does: re-reads the public bundle and validates the edge against all of it.</summary>
    private sealed class LiveBundle(HttpClient admin)
    {
        private static readonly ConcurrentDictionary<string, X509Certificate2> Seen = new();
        private volatile X509Certificate2Collection _roots = [];
        private long _sequence;

        public long Sequence => Interlocked.Read(ref _sequence);

        public X509Certificate2Collection Roots => _roots;

        public static X509Certificate2? Current(string sha256) => Seen.TryGetValue(sha256, out var root) ? root : null;

        public async Task RefreshAsync()
        {
            using var response = await admin.GetAsync("/v1/bundle");
            var sequence = long.Parse(response.Headers.GetValues("Fabric-Bundle-Sequence").Single(), System.Globalization.CultureInfo.InvariantCulture);
            var roots = SvidPem.LoadCertificates(await response.Content.ReadAsStringAsync());
            foreach (var root in roots)
            {
                Seen.TryAdd(EdgeBootstrap.CaPin(root), root);
            }
            if (sequence >= Sequence)
            {
                _roots = roots;
                Interlocked.Exchange(ref _sequence, sequence);
            }
        }

        public async Task WaitForSequenceAsync(long sequence)
        {
            while (Sequence < sequence)
            {
                await RefreshAsync();
            }
        }

        public bool Validates(X509Certificate? certificate) =>
            certificate is X509Certificate2 leaf && CustomRootTrust.Chains(leaf, _roots);
    }
}
