namespace Fabric.Silo.Approvals;

/// <summary><c>Fabric:Approvals</c> (issue 12 §3).</summary>
public sealed class ApprovalOptions
{
    public const string Section = "Fabric:Approvals";

    /// <summary>How long a request waits for a decision, and an approval for its call (seconds).</summary>
    public int TtlSeconds { get; set; } = 900;

    /// <summary>How long a request is kept for review once it is over (consumed, expired, denied, cancelled; seconds).</summary>
    public int RetainSeconds { get; set; } = 3600;

    /// <summary>At most this many requests are pending per identity; a new one past it expires that identity's oldest.</summary>
    public int MaxPendingPerWorkload { get; set; } = 100;

    /// <summary>Where new requests are announced (POST, JSON, HMAC-signed); none when empty.</summary>
    public string? WebhookUrl { get; set; }

    /// <summary>The local secret whose value keys the webhook's HMAC. Without it, nothing is sent (unsigned is not an option).</summary>
    public string WebhookSecret { get; set; } = "approvals-webhook";

    /// <summary>Tries per announcement (the first and the retries).</summary>
    public int WebhookAttempts { get; set; } = 5;

    /// <summary>The wait before the first retry; each next one waits twice as long (milliseconds).</summary>
    public int WebhookFirstRetryMs { get; set; } = 1000;
}
