using System.Text;
using System.Text.Json;
using Fabric.Contracts.Approvals;
using Fabric.Contracts.Grains;
using Fabric.Silo.Approvals;
using Fabric.Silo.Hosting;
using Fabric.Silo.Tests.Apis;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Fabric.Silo.Tests.Grains;

/// <summary>
/// Issue 12 §3, the whole way: a silo host configured with <c>Fabric:Approvals:WebhookUrl</c> announces the request its
/// approvals grain creates, signed with the configured local secret (the grain → webhook link, not the webhook alone).
/// </summary>
public sealed class ApprovalWebhookHostTests : IAsyncLifetime
{
    private readonly string _dataDirectory = Directory.CreateTempSubdirectory("fabric-webhook-").FullName;
    private readonly TaskCompletionSource<(string Signature, string Body)> _received = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private WebApplication _receiver = null!;
    private WebApplication _silo = null!;

    public async Task InitializeAsync()
    {
        var receiver = WebApplication.CreateSlimBuilder(["--urls=http://127.0.0.1:0"]);
        receiver.Logging.ClearProviders();
        _receiver = receiver.Build();
        _receiver.MapPost("/hook", async (HttpContext context) =>
        {
            using var reader = new StreamReader(context.Request.Body, Encoding.UTF8);
            _received.TrySetResult((context.Request.Headers[ApprovalWebhook.SignatureHeader].ToString(), await reader.ReadToEndAsync()));
            return Results.Ok();
        });
        await _receiver.StartAsync();
        var hook = new Uri(new Uri(_receiver.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First()), "/hook");

        var siloPort = FreePort.Next();
        _silo = FabricSiloApp.Build(
            [
                $"--Fabric:Cluster:SiloPort={siloPort}",
                $"--Fabric:Cluster:GatewayPort={FreePort.Next()}",
                $"--Fabric:Cluster:ClusterId=webhook-{siloPort}",
                $"--Fabric:DataDirectory={_dataDirectory}",
                "--urls=http://127.0.0.1:0",
                EdgeJoinArguments.AnyBootstrapPort,
                "--FABRIC_ADMIN_TOKEN=webhook-host-admin-token",
                $"--{ApprovalOptions.Section}:WebhookUrl={hook}",
                $"--{ApprovalOptions.Section}:WebhookSecret=hook-key",
            ],
            builder => builder.Logging.ClearProviders());
        await _silo.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _silo.StopAsync();
        await _silo.DisposeAsync();
        await _receiver.DisposeAsync();
        Directory.Delete(_dataDirectory, recursive: true);
    }

    [Fact]
    public async Task A_request_the_grain_creates_is_announced_signed_with_the_configured_secret()
    {
        var grains = _silo.Services.GetRequiredService<IGrainFactory>();
        const string key = "whk-host-0123456789abcdef";
        await grains.LocalSecrets().PutAsync("hook-key", key);

        var answer = await grains.Approvals().RequestAsync(new ApprovalBinding("spiffe://fabric.local/agents/a", "prod", "deploy", new string('c', 64)), "p", 0);

        var (signature, body) = await _received.Task.WaitAsync(TimeSpan.FromSeconds(30));
        using var json = JsonDocument.Parse(body);
        Assert.Equal(answer.Id, json.RootElement.GetProperty("id").GetString());
        Assert.Equal("deploy", json.RootElement.GetProperty("tool").GetString());
        var parts = signature.Split(',').Select(p => p.Split('=', 2)).ToDictionary(p => p[0], p => p[1]);
        var expected = System.Security.Cryptography.HMACSHA256.HashData(Encoding.UTF8.GetBytes(key), Encoding.UTF8.GetBytes(parts["t"] + "." + body));
        Assert.Equal(Convert.ToHexStringLower(expected), parts["v1"]);
        Assert.DoesNotContain(key, body, StringComparison.Ordinal);
    }
}
