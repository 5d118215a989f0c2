using System.Net;
using System.Security.Authentication;
using Microsoft.Extensions.Http.Resilience;
using Polly;

namespace Fabric.Silo.Secrets.Vault;

/// <summary>
/// Retries as the official Go client (<c>hashicorp/vault</c> <c>api/client.go</c>) does: its
/// <c>DefaultRetryPolicy</c> is go-retryablehttp's (connection errors; 429; 5xx except 501) plus 412
/// (an Enterprise node missing eventually-consistent state); <c>MaxRetries</c> 2, waits from
/// <c>RateLimitLinearJitterBackoff</c>: <c>Retry-After</c> on 429/503, else
/// <c>(min + jitter·(max−min)) · attempt</c> with 1000–1500 ms. Like the official client it retries
/// every method (Vault's writes used here — login, renew, revoke — are safe to repeat). 400/403/404
/// and other 4xx are answers, never retried; nor is a TLS trust failure (retryablehttp skips
/// <c>x509.UnknownAuthorityError</c>). Status codes: developer.hashicorp.com/vault/api-docs#http-status-codes.
/// </summary>
internal static class VaultRetryPolicy
{
    /// <summary>Set on a request whose status code is itself the answer (<c>sys/health</c>: 429 = standby, 503 = sealed).</summary>
    public static readonly HttpRequestOptionsKey<bool> NoRetry = new("fabric.vault.no-retry");

    public static void Configure(ResiliencePipelineBuilder<HttpResponseMessage> builder, VaultOptions options)
    {
        // Retry waits and the call timeout pace real sockets, so they run on the wall clock — not on
        // the injectable TimeProvider the token and lease bookkeeping use (a fake clock would freeze them).
        builder.TimeProvider = TimeProvider.System;
        builder.AddTimeout(options.Timeout);
        if (options.MaxRetries > 0)
        {
            builder.AddRetry(new HttpRetryStrategyOptions
            {
                MaxRetryAttempts = options.MaxRetries,
                // Retry-After is read by DelayFor, with the MaxRetryAfter cap.
                ShouldRetryAfterHeader = false,
                ShouldHandle = args => ValueTask.FromResult(ShouldRetry(args.Context, args.Outcome)),
                DelayGenerator = args => ValueTask.FromResult<TimeSpan?>(DelayFor(options, args.AttemptNumber, args.Outcome.Result)),
            });
        }
    }

    internal static bool ShouldRetry(ResilienceContext context, Outcome<HttpResponseMessage> outcome)
    {
        if (context.GetRequestMessage() is { } request && request.Options.TryGetValue(NoRetry, out var noRetry) && noRetry)
        {
            return false;
        }
        if (outcome.Exception is { } exception)
        {
            return exception is HttpRequestException && !IsTrustFailure(exception);
        }
        return outcome.Result is { } response && IsRetryableStatus(response.StatusCode);
    }

    internal static bool IsRetryableStatus(HttpStatusCode status) =>
        status is HttpStatusCode.PreconditionFailed or HttpStatusCode.TooManyRequests
        || ((int)status >= 500 && status != HttpStatusCode.NotImplemented);

    internal static TimeSpan DelayFor(VaultOptions options, int attemptNumber, HttpResponseMessage? response)
    {
        if (response is { StatusCode: HttpStatusCode.TooManyRequests or HttpStatusCode.ServiceUnavailable }
            && response.Headers.RetryAfter is { } retryAfter)
        {
            var wait = retryAfter.Delta ?? (retryAfter.Date is { } date ? date - DateTimeOffset.UtcNow : TimeSpan.Zero);
            return wait < TimeSpan.Zero ? TimeSpan.Zero : wait > options.MaxRetryAfter ? options.MaxRetryAfter : wait;
        }
        // Polly counts retries from 0; retryablehttp's attemptNum starts at 1.
        var spread = (options.MaxRetryWait - options.MinRetryWait) * Random.Shared.NextDouble();
        return (options.MinRetryWait + spread) * (attemptNumber + 1);
    }

    private static bool IsTrustFailure(Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is AuthenticationException)
            {
                return true;
            }
        }
        return false;
    }
}
