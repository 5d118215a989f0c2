using Fabric.Hosting;
using Fabric.Edge.Hosting;
using Fabric.Silo.Hosting;

namespace Fabric.Silo.Tests.Cluster;

/// <summary>
/// Startup validation of <c>Fabric:Cluster</c>: the real hosts refuse to build with a clear message
/// naming the key, before they touch the network.
/// </summary>
public sealed class ClusterConfigurationTests
{
    public static TheoryData<string[], string> BadSettings => new()
    {
        { ["--Fabric:Cluster:Provider=redis"], "ConnectionStrings:redis is not set" },
        { ["--Fabric:Cluster:Provider=zookeeper"], "Fabric:Cluster:Provider 'zookeeper' is not supported: use 'localhost'" },
        { ["--Fabric:Cluster:Provider=redis", "--ConnectionStrings:redis=127.0.0.1:6379", "--Fabric:Cluster:AdvertisedIP=not-an-ip"], "Fabric:Cluster:AdvertisedIP 'not-an-ip' is not an IP address" },
        { ["--Fabric:Cluster:Provider=redis", "--ConnectionStrings:redis=127.0.0.1:6379", "--Fabric:Cluster:Membership:NumVotesForDeathDeclaration=0"], "Fabric:Cluster:Membership:NumVotesForDeathDeclaration must be at least 1" },
        { ["--Fabric:Cluster:Provider=redis", "--ConnectionStrings:redis=127.0.0.1:6379", "--Fabric:Cluster:Membership:ProbeTimeout=00:00:00"], "Fabric:Cluster:Membership:ProbeTimeout must be a positive time span" },
        { ["--Fabric:Cluster:SiloPort=0"], "Fabric:Cluster:SiloPort must be a TCP port" },
        { ["--Fabric:Cluster:SiloPort=30000"], "SiloPort and Fabric:Cluster:GatewayPort must differ" },
        { ["--Fabric:Cluster:ClusterId= "], "Fabric:Cluster:ClusterId must not be empty" },
        { ["--Fabric:Cluster:Provider=redis", "--ConnectionStrings:redis=abortConnect=false"], "ConnectionStrings:redis names no Redis endpoint" },
    };

    [Theory]
    [MemberData(nameof(BadSettings))]
    public void The_silo_host_refuses_bad_cluster_settings_naming_the_key(string[] args, string expected)
    {
        var error = Assert.Throws<InvalidOperationException>(() => FabricSiloApp.Build(args));
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(BadSettings))]
    public void The_edge_host_refuses_bad_cluster_settings_naming_the_key(string[] args, string expected)
    {
        var error = Assert.Throws<InvalidOperationException>(() => FabricEdgeApp.Build(args));
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_malformed_connection_string_is_named_by_its_key_without_echoing_its_password()
    {
        string[] args = ["--Fabric:Cluster:Provider=redis", "--ConnectionStrings:redis=127.0.0.1:6379,password=hunter2-pw,bogusOption=1"];

        foreach (var build in new Action[] { () => FabricSiloApp.Build(args), () => FabricEdgeApp.Build(args) })
        {
            var error = Assert.Throws<InvalidOperationException>(build);
            Assert.Contains("ConnectionStrings:redis is not a valid Redis connection string", error.Message, StringComparison.Ordinal);
            Assert.Contains("bogusOption", error.Message, StringComparison.Ordinal);
            Assert.DoesNotContain("hunter2-pw", error.ToString(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Every_problem_is_reported_at_once()
    {
        var options = new ClusterOptions { Provider = "redis", SiloPort = -1, AdvertisedIP = "x" };

        var errors = options.Validate(redisConnectionString: null);

        Assert.Equal(3, errors.Count);
    }

    [Fact]
    public void Defaults_are_localhost_and_the_measured_fast_failure_detection_for_redis()
    {
        var options = new ClusterOptions();

        Assert.True(options.IsLocalhost);
        Assert.Empty(options.Validate(null));
        Assert.Equal(TimeSpan.FromSeconds(1), options.Membership.ProbeTimeout);
        Assert.Equal(2, options.Membership.NumMissedProbesLimit);
        Assert.Equal(1, options.Membership.NumVotesForDeathDeclaration);
        Assert.Equal(TimeSpan.FromSeconds(2), options.Membership.TableRefreshTimeout);
        Assert.Equal(TimeSpan.FromSeconds(5), options.Membership.IAmAliveTablePublishTimeout);
        Assert.Equal(System.Net.IPAddress.Loopback, options.AdvertisedAddress());
    }
}
