using System.Diagnostics;
using System.Net.Http.Json;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using Fabric.Contracts.Grains;
using Fabric.Contracts.Identity;
using Fabric.Edge.Hosting;
using Fabric.Edge.Identity;
using Fabric.Hosting.Links;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orleans.Runtime;
using StackExchange.Redis;

namespace Fabric.Silo.Tests.Cluster;

/// <summary>One real <c>redis-server</c> for the class; each test keeps to its own cluster and service id.</summary>
public sealed class RedisFixture : IAsyncLifetime
{
    private RedisServer? _redis;

    public RedisServer Redis => _redis ?? throw new InvalidOperationException("redis-server did not start");

    public async Task InitializeAsync() => _redis = await RedisServer.StartAsync();

    public async Task DisposeAsync()
    {
        if (_redis is not null)
        {
            await _redis.DisposeAsync();
        }
    }
}

/// <summary>
/// Issue 4 §1: the real silo and edge hosts in redis mode. State outlives a host, two hosts form one
/// cluster with one activation of each singleton grain, and an edge joins as a client.
/// </summary>
public sealed class RedisClusterTests(RedisFixture fixture) : IClassFixture<RedisFixture>, IDisposable
{
    private const string TrustDomain = "fabric.local";
    private static readonly TimeSpan MembershipDeadline = TimeSpan.FromSeconds(15);

    private readonly string _dataDirectory = Path.Combine(Path.GetTempPath(), "fabric-redis-cluster-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        try
        {
            Directory.Delete(_dataDirectory, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }

    [Fact]
    public async Task Policies_servers_secrets_and_the_CA_survive_a_new_host_on_the_same_Redis()
    {
        var clusterId = Unique("restart");
        var secret = Unique("secret");
        var secretValue = "s3cr3t-" + Guid.NewGuid().ToString("N");
        var server = Unique("srv");
        var policy = Unique("pol");

        string bundle, storedServer, storedPolicy;
        await using (var first = await RedisSiloHost.StartAsync(fixture.Redis, clusterId, _dataDirectory))
        {
            await PutAsync(first, "/v1/secrets/" + secret, new { value = secretValue });
            storedServer = await PutAsync(first, "/v1/servers/" + server, new
            {
                upstream = "https://tools.example.com/mcp",
                credential = new { source = "local", @ref = secret, inject = new { header = "Authorization", format = "Bearer {secret}" } },
            });
            storedPolicy = await PutAsync(first, "/v1/policies/" + policy, new
            {
                subjects = new[] { $"spiffe://{TrustDomain}/agents/*" },
                rules = new[] { new { server, effect = "allow" } },
            });
            bundle = await GetAsync(first, "/v1/bundle");
        }

        await using var second = await RedisSiloHost.StartAsync(fixture.Redis, clusterId, _dataDirectory);

        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(storedPolicy), JsonNode.Parse(await GetAsync(second, "/v1/policies/" + policy))));
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(storedServer), JsonNode.Parse(await GetAsync(second, "/v1/servers/" + server))));
        var secrets = JsonNode.Parse(await GetAsync(second, "/v1/secrets"))!["secrets"]!.AsArray();
        Assert.Contains(secrets, s => (string?)s!["name"] == secret);
        // Same CA key, not a new CA: the bundle is byte for byte the one the first host served.
        Assert.Equal(bundle, await GetAsync(second, "/v1/bundle"));
        // The encrypted value came back and still decrypts with the deployment's key.
        Assert.Equal(secretValue, (await second.Grains.LocalSecrets().RevealAsync(secret))!.Value);

        // It really is in Redis, and only encrypted: no key or value holds the secret in clear.
        var stored = await ReadEverythingAsync(fixture.Redis, clusterId);
        Assert.Contains(stored, v => v.Contains(secret, StringComparison.Ordinal)); // names are stored in clear: the scan sees text
        Assert.DoesNotContain(stored, v => v.Contains(secretValue, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_second_host_joining_does_not_activate_the_policy_catalog_or_the_CA_again()
    {
        var clusterId = Unique("pair");
        var policy = Unique("pol");
        Task<string> PutPolicyAsync(RedisSiloHost through, int i) => PutAsync(through, "/v1/policies/" + policy, new
        {
            subjects = new[] { $"spiffe://{TrustDomain}/agents/{i}" },
            rules = new[] { new { server = "tools", effect = "allow" } },
        });

        // The first host activates both singletons before the second exists.
        await using var a = await RedisSiloHost.StartAsync(fixture.Redis, clusterId, _dataDirectory);
        var versions = new List<long> { (long)JsonNode.Parse(await PutPolicyAsync(a, 0))!["version"]! };
        var bundle = await GetAsync(a, "/v1/bundle");
        var catalog = ((GrainReference)a.Grains.Catalog()).GrainId;
        var authority = ((GrainReference)a.Grains.Authority(TrustDomain)).GrainId;
        await AssertActivatedOnceAsync(a, a.SiloPort);

        await using var b = await RedisSiloHost.StartAsync(fixture.Redis, clusterId, _dataDirectory);
        await WaitForActiveSilosAsync(a, 2);
        await WaitForActiveSilosAsync(b, 2);
        var hosts = await a.Grains.GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true);
        Assert.Equal(new[] { a.SiloPort, b.SiloPort }.Order(), hosts.Keys.Select(s => s.Endpoint.Port).Order());

        // The joiner's API reaches the same activations: writes alternate between the two APIs and form
        // one version sequence, the joiner serves the same CA (not a new one) and mints from it.
        for (var i = 1; i < 5; i++)
        {
            var through = i % 2 == 0 ? a : b;
            var stored = JsonNode.Parse(await PutPolicyAsync(through, i))!;
            versions.Add((long)stored["version"]!);
            var other = through == a ? b : a;
            var read = JsonNode.Parse(await GetAsync(other, "/v1/policies/" + policy))!;
            Assert.True(JsonNode.DeepEquals(stored, read), $"{stored} vs {read}");
        }
        Assert.Equal(Enumerable.Range(0, 5).Select(i => versions[0] + i), versions);
        Assert.Equal(bundle, await GetAsync(b, "/v1/bundle"));
        var svid = await b.Grains.Authority(TrustDomain).IssueAsync(new SvidRequest($"spiffe://{TrustDomain}/agents/joiner", TimeSpan.FromMinutes(5), [], []));
        using var leaf = X509Certificate2.CreateFromPem(svid.CertificatePem);
        var validation = X509SvidValidator.Validate(leaf, null, TrustBundleSet.FromPem(TrustDomain, bundle), DateTimeOffset.UtcNow);
        Assert.True(validation.IsValid, validation.ToString());

        // Still one activation of each, still on the first host.
        await AssertActivatedOnceAsync(a, a.SiloPort);
        await AssertActivatedOnceAsync(b, a.SiloPort);

        async Task AssertActivatedOnceAsync(RedisSiloHost asking, int expectedSiloPort)
        {
            var statistics = await asking.Grains.GetGrain<IManagementGrain>(0).GetDetailedGrainStatistics();
            Assert.Equal(expectedSiloPort, Assert.Single(statistics, s => s.GrainId == catalog).SiloAddress.Endpoint.Port);
            Assert.Equal(expectedSiloPort, Assert.Single(statistics, s => s.GrainId == authority).SiloAddress.Endpoint.Port);
        }
    }

    [Fact]
    public async Task An_edge_in_redis_mode_joins_the_cluster_as_a_client_and_gets_its_SVID_from_the_CA()
    {
        var clusterId = Unique("edge");
        await using var a = await RedisSiloHost.StartAsync(fixture.Redis, clusterId, _dataDirectory);
        await using var b = await RedisSiloHost.StartAsync(fixture.Redis, clusterId, _dataDirectory);
        var policy = Unique("pol");
        await PutAsync(a, "/v1/policies/" + policy, new { subjects = new[] { $"spiffe://{TrustDomain}/agents/*" }, rules = new[] { new { server = "tools", effect = "allow" } } });

        var logs = new LogCapture();
        var edge = FabricEdgeApp.Build(
            [
                .. RedisSiloHost.ClusterArguments(fixture.Redis, clusterId),
                .. await EdgeJoinArguments.ForAsync(b.Admin, "redis-edge"),
                "--urls=https://127.0.0.1:0",
                "--Fabric:Edge:Name=redis-edge",
                "--Fabric:Edge:Egress:ProxyUrls=http://127.0.0.1:0",
                $"--Fabric:Edge:AuditSpoolDirectory={Path.Combine(_dataDirectory, "edge-audit")}",
            ],
            builder =>
            {
                builder.Logging.ClearProviders();
                builder.Logging.AddFilter("Orleans", LogLevel.Warning);
                builder.Logging.AddProvider(logs);
            });
        var started = Stopwatch.StartNew();
        await edge.StartAsync();
        try
        {
            var identity = edge.Services.GetRequiredService<NodeIdentity>();
            Assert.True(identity.IsReady, string.Join('\n', logs.Lines));
            Assert.Equal($"spiffe://{TrustDomain}/fabric/edge/redis-edge", identity.Current.Id.ToString());
            // Its SVID chains to the bundle the silos serve: it came from the cluster's CA.
            var bundle = SvidPem.LoadCertificates(await GetAsync(b, "/v1/bundle"));
            Assert.Contains(bundle, root => root.SubjectName.RawData.AsSpan().SequenceEqual(identity.Current.Certificate.IssuerName.RawData));
            // And it reads grain state written through a silo's API.
            var read = await edge.Services.GetRequiredService<IClusterClient>().Catalog().GetAsync(policy);
            Assert.NotNull(read);
            Assert.True(started.Elapsed < TimeSpan.FromSeconds(20), $"edge start took {started.Elapsed}");
        }
        finally
        {
            await edge.StopAsync();
            await edge.DisposeAsync();
        }
    }

    private static string Unique(string prefix) => prefix + "-" + Guid.NewGuid().ToString("N")[..10];

    private static async Task<string> GetAsync(RedisSiloHost host, string path)
    {
        using var response = await host.Admin.GetAsync(path);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"GET {path} → {(int)response.StatusCode}: {text}\n{string.Join('\n', host.Logs.Lines)}");
        return text;
    }

    private static async Task<string> PutAsync(RedisSiloHost host, string path, object body)
    {
        using var response = await host.Admin.PutAsJsonAsync(path, body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"PUT {path} → {(int)response.StatusCode}: {text}\n{string.Join('\n', host.Logs.Lines)}");
        return text;
    }

    /// <summary>Awaits membership updates (a real event stream) until <paramref name="count"/> silos are active.</summary>
    private static async Task WaitForActiveSilosAsync(RedisSiloHost host, int count)
    {
        var membership = host.Services.GetRequiredService<IClusterMembershipService>();
        using var deadline = new CancellationTokenSource(MembershipDeadline);
        var last = membership.CurrentSnapshot;
        try
        {
            await foreach (var snapshot in membership.MembershipUpdates.WithCancellation(deadline.Token))
            {
                last = snapshot;
                if (snapshot.Members.Values.Count(m => m.Status == SiloStatus.Active) >= count)
                {
                    return;
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        Assert.Fail($"silo {host.SiloPort} saw {last.Members.Values.Count(m => m.Status == SiloStatus.Active)} active silos, expected {count}: {string.Join(", ", last.Members.Values.Select(m => $"{m.SiloAddress} {m.Status}"))}");
    }

    /// <summary>Every key and value Redis holds for this test (the service's grain state and the cluster's membership), as text.</summary>
    private static async Task<List<string>> ReadEverythingAsync(RedisServer redis, string id)
    {
        await using var connection = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString + ",allowAdmin=true");
        var database = connection.GetDatabase();
        var found = new List<string>();
        await foreach (var key in connection.GetServer(redis.ConnectionString).KeysAsync(pattern: "*" + id + "*"))
        {
            found.Add(key.ToString());
            switch (await database.KeyTypeAsync(key))
            {
                case RedisType.String:
                    found.Add(System.Text.Encoding.UTF8.GetString((byte[])(await database.StringGetAsync(key))!));
                    break;
                case RedisType.Hash:
                    found.AddRange((await database.HashGetAllAsync(key)).Select(e => System.Text.Encoding.UTF8.GetString((byte[])e.Value!)));
                    break;
            }
        }
        return found;
    }
}
