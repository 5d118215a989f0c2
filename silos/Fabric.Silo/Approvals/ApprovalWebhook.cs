using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Fabric.Contracts.Approvals;
using Fabric.Contracts.Grains;
using Microsoft.Extensions.Options;

namespace Fabric.Silo.Approvals;

/// <summary>
/// Announces new approval requests to <see cref="ApprovalOptions.WebhookUrl"/> (issue 12 §3), off the grain's turn:
/// <code>
///   POST {url}   Content-Type: application/json
///   Fabric-Signature: t=&lt;unix seconds&gt;,v1=&lt;hex HMAC-SHA256(key, "&lt;t&gt;." + body)&gt;
///   {"event":"approval.requested","id":…,"workload":…,"server":…,"tool":…,"argumentsSha256":…,"policy":…,"rule":…,"createdAt":…,"expiresAt":…}
/// </code>
/// The key is the local secret <see cref="ApprovalOptions.WebhookSecret"/>; without it nothing is sent (a receiver must
/// be able to tell the fabric from anyone who learnt its URL). A 2xx answer delivers it; anything else (or no answer in
/// 10 s) is retried after 1 s, 2 s, 4 s, … up to <see cref="ApprovalOptions.WebhookAttempts"/> tries. The body names
/// the call, never its arguments (only their digest).
/// </summary>
public sealed partial class ApprovalWebhook(
    IHttpClientFactory httpClients,
    IGrainFactory grains,
    IOptions<ApprovalOptions> options,
    TimeProvider time,
    ILogger<ApprovalWebhook> logger) : BackgroundService
{
    public const string HttpClientName = "fabric-approvals-webhook";
    public const string SignatureHeader = "Fabric-Signature";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private readonly Channel<ApprovalRequest> _queue = Channel.CreateBounded<ApprovalRequest>(new BoundedChannelOptions(10_000) { FullMode = BoundedChannelFullMode.DropOldest });

    /// <summary>Queues an announcement; never blocks, never faults.</summary>
    public void Announce(ApprovalRequest request)
    {
        if (!string.IsNullOrEmpty(options.Value.WebhookUrl))
        {
            _queue.Writer.TryWrite(request);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await foreach (var request in _queue.Reader.ReadAllAsync(stoppingToken))
        {
            // One at a time, in order; a slow receiver delays the next announcement, never a call.
            await DeliverAsync(request, stoppingToken);
        }
    }

    /// <summary><c>t=&lt;t&gt;,v1=&lt;hex HMAC-SHA256(key, "&lt;t&gt;." + body)&gt;</c>.</summary>
    public static string Sign(byte[] key, long timestamp, ReadOnlySpan<byte> body)
    {
        var prefix = Encoding.ASCII.GetBytes(timestamp.ToString(CultureInfo.InvariantCulture) + ".");
        var signed = new byte[prefix.Length + body.Length];
        prefix.CopyTo(signed, 0);
        body.CopyTo(signed.AsSpan(prefix.Length));
        return $"t={timestamp.ToString(CultureInfo.InvariantCulture)},v1={Convert.ToHexStringLower(HMACSHA256.HashData(key, signed))}";
    }

    /// <summary>One announcement with its retries; true when the receiver took it.</summary>
    internal async Task<bool> DeliverAsync(ApprovalRequest request, CancellationToken cancellationToken)
    {
        var settings = options.Value;
        if (!Uri.TryCreate(settings.WebhookUrl, UriKind.Absolute, out var url) || url.Scheme is not ("https" or "http"))
        {
            LogBadUrl(logger);
            return false;
        }
        SecretReveal? key;
        try
        {
            key = await grains.LocalSecrets().RevealAsync(settings.WebhookSecret);
        }
        catch (OrleansException ex)
        {
            LogNotSent(logger, request.Id, ex.Message);
            return false;
        }
        if (key is null)
        {
            LogNoKey(logger, request.Id, settings.WebhookSecret);
            return false;
        }
        var body = JsonSerializer.SerializeToUtf8Bytes(new
        {
            @event = "approval.requested",
            id = request.Id,
            workload = request.Binding.Workload,
            server = request.Binding.Server,
            tool = request.Binding.Tool,
            argumentsSha256 = request.Binding.ArgumentsSha256,
            policy = request.Policy,
            rule = request.Rule,
            createdAt = request.CreatedAt,
            expiresAt = request.ExpiresAt,
        }, Json);
        var keyBytes = Encoding.UTF8.GetBytes(key.Value);
        var delay = TimeSpan.FromMilliseconds(Math.Max(1, settings.WebhookFirstRetryMs));
        var attempts = Math.Max(1, settings.WebhookAttempts);
        for (var attempt = 1; attempt <= attempts; attempt++)
        {
            string? failure;
            try
            {
                using var message = new HttpRequestMessage(HttpMethod.Post, url) { Content = new ByteArrayContent(body) };
                message.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
                message.Headers.TryAddWithoutValidation(SignatureHeader, Sign(keyBytes, time.GetUtcNow().ToUnixTimeSeconds(), body));
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeout.CancelAfter(TimeSpan.FromSeconds(10));
                using var response = await httpClients.CreateClient(HttpClientName).SendAsync(message, timeout.Token);
                if (response.IsSuccessStatusCode)
                {
                    LogDelivered(logger, request.Id, attempt);
                    return true;
                }
                failure = "HTTP " + (int)response.StatusCode;
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
            {
                failure = ex.GetType().Name;
            }
            LogAttemptFailed(logger, request.Id, attempt, attempts, failure);
            if (attempt < attempts)
            {
                await Task.Delay(delay, time, cancellationToken);
                delay *= 2;
            }
        }
        return false;
    }

    [LoggerMessage(EventId = 3510, Level = LogLevel.Information, Message = "Approval {Id} announced to the webhook (try {Attempt})")]
    private static partial void LogDelivered(ILogger logger, string id, int attempt);

    [LoggerMessage(EventId = 3511, Level = LogLevel.Warning, Message = "Approval {Id}: webhook try {Attempt} of {Attempts} failed: {Failure}")]
    private static partial void LogAttemptFailed(ILogger logger, string id, int attempt, int attempts, string failure);

    [LoggerMessage(EventId = 3512, Level = LogLevel.Warning, Message = "Approval {Id} not announced: the webhook key (local secret '{Secret}') does not exist; nothing unsigned is sent")]
    private static partial void LogNoKey(ILogger logger, string id, string secret);

    [LoggerMessage(EventId = 3513, Level = LogLevel.Warning, Message = "Fabric:Approvals:WebhookUrl is not an absolute http(s) URL; approvals are not announced")]
    private static partial void LogBadUrl(ILogger logger);

    [LoggerMessage(EventId = 3514, Level = LogLevel.Warning, Message = "Approval {Id} not announced: {Error}")]
    private static partial void LogNotSent(ILogger logger, string id, string error);
}
