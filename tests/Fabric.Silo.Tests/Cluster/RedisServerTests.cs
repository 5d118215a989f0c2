using System.Diagnostics;
using StackExchange.Redis;

namespace Fabric.Silo.Tests.Cluster;

/// <summary>The test helper the fault tests lean on: a graceful stop and a restart keep every acknowledged write.</summary>
public sealed class RedisServerTests
{
    [Fact]
    public async Task A_stopped_server_starts_again_on_the_same_port_with_its_data()
    {
        await using var redis = await RedisServer.StartAsync();
        await using (var connection = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString))
        {
            Assert.True(await connection.GetDatabase().StringSetAsync("fabric:probe", "kept"));
        }
        var port = redis.Port;
        var pid = redis.ProcessId;

        var restart = Stopwatch.StartNew();
        await redis.StopAsync();
        Assert.Throws<InvalidOperationException>(() => redis.ProcessId);
        await redis.StartAgainAsync();
        restart.Stop();

        Assert.Equal(port, redis.Port);
        Assert.NotEqual(pid, redis.ProcessId);
        await using var again = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        Assert.Equal("kept", (string?)await again.GetDatabase().StringGetAsync("fabric:probe"));
        Assert.True(restart.Elapsed < TimeSpan.FromSeconds(5), restart.Elapsed.ToString());
    }

    [Fact]
    public async Task Dispose_kills_the_server_and_removes_its_directory()
    {
        var redis = await RedisServer.StartAsync();
        using var process = Process.GetProcessById(redis.ProcessId);

        await redis.DisposeAsync();

        Assert.True(process.HasExited);
        Assert.False(Directory.Exists(redis.DataDirectory));
    }
}
