using System.Net.Http.Headers;
using Fabric.Silo.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Fabric.Silo.Tests.Apis;

/// <summary>
/// The real silo host (<see cref="FabricSiloApp"/>: Orleans silo on localhost clustering with free
/// ports, memory storage, management API on Kestrel at 127.0.0.1:0), started once per collection.
/// Every log line it writes, at every level, is captured for secret scans. Tests share it and keep
/// out of each other's way with unique names (<see cref="Unique"/>).
/// </summary>
public sealed class SiloApiFixture : IAsyncLifetime
{
    public const string AdminToken = "silo-api-admin-token-0123456789abcdef";
    public const string TrustDomain = "fabric.local";

    private readonly string _dataDirectory = Path.Combine(Path.GetTempPath(), "fabric-silo-api-" + Guid.NewGuid().ToString("N"));
    private WebApplication? _app;

    public LogCapture Logs { get; } = new();

    /// <summary>The silo host's data directory (its key files, the console's key ring).</summary>
    public string DataDirectory => _dataDirectory;

    public Uri ApiUrl { get; private set; } = null!;

    /// <summary>Sends <c>Authorization: Bearer &lt;admin token&gt;</c>.</summary>
    public HttpClient Admin { get; private set; } = null!;

    /// <summary>Sends no credentials at all.</summary>
    public HttpClient Anonymous { get; private set; } = null!;

    /// <summary>The host's services: the grain factory, for arranging state the API cannot write (audit records).</summary>
    public IServiceProvider Services => _app?.Services ?? throw new InvalidOperationException("the silo is not started");

    public IGrainFactory Grains => Services.GetRequiredService<IGrainFactory>();

    public async Task InitializeAsync()
    {
        var siloPort = FreePort.Next();
        var gatewayPort = FreePort.Next();
        _app = FabricSiloApp.Build(
            [
                $"--Fabric:Cluster:SiloPort={siloPort}",
                $"--Fabric:Cluster:GatewayPort={gatewayPort}",
                $"--Fabric:Cluster:ClusterId=silo-api-{siloPort}",
                $"--Fabric:DataDirectory={_dataDirectory}",
                "--urls=http://127.0.0.1:0",
                EdgeJoinArguments.AnyBootstrapPort,
                $"--FABRIC_ADMIN_TOKEN={AdminToken}",
            ],
            builder =>
            {
                builder.Logging.ClearProviders();
                builder.Logging.SetMinimumLevel(LogLevel.Trace);
                // Orleans at Trace logs every message and slows the silo down; Debug still shows
                // grain call failures with their exceptions, where an argument would leak.
                builder.Logging.AddFilter("Orleans", LogLevel.Debug);
                builder.Logging.AddProvider(Logs);
            });
        await _app.StartAsync();
        ApiUrl = new Uri(_app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());

        Admin = new HttpClient { BaseAddress = ApiUrl };
        Admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AdminToken);
        Anonymous = new HttpClient { BaseAddress = ApiUrl };
    }

    public async Task DisposeAsync()
    {
        Admin?.Dispose();
        Anonymous?.Dispose();
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
        try
        {
            Directory.Delete(_dataDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>A unique lower-case name for a test's server, policy, secret or workload.</summary>
    public static string Unique(string prefix) => prefix + "-" + Guid.NewGuid().ToString("N")[..10];
}

[CollectionDefinition(Name)]
public sealed class SiloApiCollection : ICollectionFixture<SiloApiFixture>
{
    public const string Name = "silo-api";
}
