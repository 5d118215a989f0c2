using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using Fabric.Contracts.Approvals;
using Fabric.Contracts.Grains;
using Fabric.Silo.Approvals;
using Fabric.Silo.Tests.Secrets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Fabric.Silo.Tests.Grains;

/// <summary>
/// Issue 12 §3: a new approval request is announced to the webhook, HMAC-signed with the local secret, retried with
/// backoff while the receiver fails, and never sent unsigned. The receiver is a real Kestrel endpoint.
/// </summary>
[Collection(LeaseClusterCollection.Name)]
public sealed class ApprovalWebhookTests(LeaseClusterFixture fixture) : IAsyncLifetime
{
    private readonly ConcurrentQueue<(string Signature, byte[] Body)> _received = new();
    private readonly ConcurrentQueue<long> _arrivals = new();
    private readonly TaskCompletionSource _delivered = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private WebApplication _receiver = null!;
    private int _failuresLeft = 2;

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder(["--urls=http://127.0.0.1:0"]);
        _receiver = builder.Build();
        _receiver.MapPost("/hook", async (HttpContext context) =>
        {
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body);
            _arrivals.Enqueue(System.Diagnostics.Stopwatch.GetTimestamp());
            _received.Enqueue((context.Request.Headers[ApprovalWebhook.SignatureHeader].ToString(), body.ToArray()));
            if (Interlocked.Decrement(ref _failuresLeft) >= 0)
            {
                return Results.StatusCode(StatusCodes.Status503ServiceUnavailable);
            }
            _delivered.TrySetResult();
            return Results.Ok();
        });
        await _receiver.StartAsync();
    }

    public async Task DisposeAsync() => await _receiver.DisposeAsync();

    private Uri HookUrl => new(new Uri(_receiver.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First()), "/hook");

    private ApprovalWebhook Webhook(string secret, int attempts = 5, TimeProvider? time = null) => new(
        new ServiceCollection().AddHttpClient().BuildServiceProvider().GetRequiredService<IHttpClientFactory>(),
        fixture.Client,
        Options.Create(new ApprovalOptions { WebhookUrl = HookUrl.ToString(), WebhookSecret = secret, WebhookAttempts = attempts, WebhookFirstRetryMs = 20 }),
        time ?? TimeProvider.System,
        NullLogger<ApprovalWebhook>.Instance);

    /// <summary>The system clock, recording every timer asked of it: the webhook's only timers are its retry delays.</summary>
    private sealed class RecordingTime : TimeProvider
    {
        public ConcurrentQueue<TimeSpan> Timers { get; } = new();

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            Timers.Enqueue(dueTime);
            return System.CreateTimer(callback, state, dueTime, period);
        }
    }

    private static ApprovalRequest Request() => new(ApprovalIds.New(), new ApprovalBinding("spiffe://td/agents/a", "prod", "deploy", new string('b', 64)),
        "p", 0, DateTimeOffset.UtcNow, DateTimeOffset.UtcNow.AddMinutes(15), ApprovalState.Pending);

    [Fact]
    public async Task A_request_is_announced_signed_and_retried_until_the_receiver_takes_it()
    {
        var secret = "webhook-" + Guid.NewGuid().ToString("N");
        var key = "whk-" + Guid.NewGuid().ToString("N");
        await fixture.Client.LocalSecrets().PutAsync(secret, key);
        var time = new RecordingTime();
        using var webhook = Webhook(secret, time: time);
        await webhook.StartAsync(CancellationToken.None);
        var request = Request();
        webhook.Announce(request);

        await _delivered.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await webhook.StopAsync(CancellationToken.None);
        Assert.Equal(3, _received.Count); // two failures, then delivered
        // The retries back off: the first retry delay (20 ms) before the second try, twice it before the third. Asserted on
        // the delays the webhook asks its clock for, not on arrival gaps: .NET's timers run on a coarse tick (4 ms here),
        // so a 40 ms delay measured with the high-resolution stopwatch can end a few milliseconds early.
        Assert.Equal([TimeSpan.FromMilliseconds(20), TimeSpan.FromMilliseconds(40)], time.Timers.ToArray());
        Assert.Equal(3, _arrivals.Count);
        foreach (var (signature, body) in _received)
        {
            // t=<unix>,v1=<hex HMAC-SHA256(key, "<t>." + body)>, recomputed here independently.
            var parts = signature.Split(',').Select(p => p.Split('=', 2)).ToDictionary(p => p[0], p => p[1]);
            var expected = System.Security.Cryptography.HMACSHA256.HashData(Encoding.UTF8.GetBytes(key), Encoding.UTF8.GetBytes(parts["t"] + "." + Encoding.UTF8.GetString(body)));
            Assert.Equal(Convert.ToHexStringLower(expected), parts["v1"]);
            Assert.InRange(long.Parse(parts["t"], System.Globalization.CultureInfo.InvariantCulture), DateTimeOffset.UtcNow.AddMinutes(-1).ToUnixTimeSeconds(), DateTimeOffset.UtcNow.ToUnixTimeSeconds());
            using var json = JsonDocument.Parse(body);
            Assert.Equal("approval.requested", json.RootElement.GetProperty("event").GetString());
            Assert.Equal(request.Id, json.RootElement.GetProperty("id").GetString());
            Assert.Equal("deploy", json.RootElement.GetProperty("tool").GetString());
            Assert.False(json.RootElement.TryGetProperty("arguments", out _));
            Assert.DoesNotContain(key, Encoding.UTF8.GetString(body), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Without_its_key_nothing_is_sent()
    {
        using var webhook = Webhook("no-such-secret-" + Guid.NewGuid().ToString("N"));
        Assert.False(await webhook.DeliverAsync(Request(), CancellationToken.None));
        Assert.Empty(_received);
    }
}
