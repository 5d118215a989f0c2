using Fabric.Contracts.Servers;
using Fabric.Silo.Secrets;
using Fabric.Silo.Secrets.AzureKeyVault;
using static Fabric.Silo.Tests.Secrets.AzureKeyVault.KeyVaultHarness;

namespace Fabric.Silo.Tests.Secrets.AzureKeyVault;

/// <summary>The <c>azure-keyvault</c> source through the real SecretClient against <see cref="KeyVaultApiDouble"/>.</summary>
public sealed class AzureKeyVaultSecretSourceTests
{
    [Fact]
    public async Task Fetches_the_latest_version_after_the_bearer_challenge()
    {
        await using var h = await StartAsync();
        h.Vault.SetSecret("github-token", "ghp_old_value_0001");
        var latest = h.Vault.SetSecret("github-token", "ghp_latest_value_0002");

        var secret = await h.Source.FetchAsync(Binding("github-token"), CancellationToken.None);

        Assert.Equal("ghp_latest_value_0002", secret.Value);
        Assert.Equal(latest, secret.Version);
        Assert.False(secret.Renewable);
        Assert.Null(secret.SourceLeaseId);
        Assert.Equal(Start + TimeSpan.FromMinutes(5), secret.ExpiresAt);

        // The challenge flow: first an unauthenticated request that gets 401 + WWW-Authenticate,
        // then the same GET with the fake credential's token; api-version on both.
        var requests = h.Vault.Requests;
        Assert.Equal(2, requests.Count);
        Assert.Null(requests[0].Authorization);
        Assert.Equal("Bearer " + FakeTokenCredential.DefaultToken, requests[1].Authorization);
        Assert.All(requests, r => Assert.Equal("GET", r.Method));
        Assert.All(requests, r => Assert.StartsWith("/secrets/github-token", r.Path, StringComparison.Ordinal));
        Assert.All(requests, r => Assert.False(string.IsNullOrEmpty(r.ApiVersion)));

        // The SDK asked Entra for the resource the challenge named, in the challenge's tenant.
        var tokenRequest = Assert.Single(h.Credential.Requests);
        Assert.Equal([KeyVaultApiDouble.Resource + "/.default"], tokenRequest.Scopes);
        Assert.Equal(KeyVaultApiDouble.TenantId, tokenRequest.TenantId);
    }

    [Fact]
    public async Task Fetches_a_specific_version()
    {
        await using var h = await StartAsync();
        var first = h.Vault.SetSecret("db-password", "first-password-value");
        h.Vault.SetSecret("db-password", "second-password-value");

        var secret = await h.Source.FetchAsync(Binding("db-password", first), CancellationToken.None);

        Assert.Equal("first-password-value", secret.Value);
        Assert.Equal(first, secret.Version);
        Assert.Equal($"/secrets/db-password/{first}", h.Vault.Requests[^1].Path);
    }

    [Fact]
    public async Task Later_fetches_reuse_the_challenge_and_the_token()
    {
        await using var h = await StartAsync();
        h.Vault.SetSecret("api-key", "api-key-value-123");

        await h.Source.FetchAsync(Binding("api-key"), CancellationToken.None);
        await h.Source.FetchAsync(Binding("api-key"), CancellationToken.None);

        Assert.Equal(3, h.Vault.Requests.Count);
        Assert.Equal("Bearer " + FakeTokenCredential.DefaultToken, h.Vault.Requests[2].Authorization);
        Assert.Equal(1, h.Credential.Calls);
    }

    [Fact]
    public async Task A_disabled_secret_is_not_usable()
    {
        await using var h = await StartAsync();
        h.Vault.SetSecret("disabled-one", "disabled-secret-value", enabled: false);

        var e = await Assert.ThrowsAsync<SecretSourceException>(() => h.Source.FetchAsync(Binding("disabled-one"), CancellationToken.None));

        Assert.Equal(SecretSourceError.NotUsable, e.Error);
        Assert.Contains("disabled", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_bundle_that_says_enabled_false_is_not_usable()
    {
        await using var h = await StartAsync();
        h.Vault.ServeDisabledBundles = true;
        h.Vault.SetSecret("disabled-two", "disabled-bundle-value", enabled: false);

        var e = await Assert.ThrowsAsync<SecretSourceException>(() => h.Source.FetchAsync(Binding("disabled-two"), CancellationToken.None));

        Assert.Equal(SecretSourceError.NotUsable, e.Error);
        Assert.Contains("secret is disabled", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_secret_before_its_nbf_is_not_usable()
    {
        await using var h = await StartAsync();
        h.Vault.SetSecret("future", "future-secret-value", notBefore: Start.AddMinutes(10));

        var e = await Assert.ThrowsAsync<SecretSourceException>(() => h.Source.FetchAsync(Binding("future"), CancellationToken.None));

        Assert.Equal(SecretSourceError.NotUsable, e.Error);
        Assert.Contains("not valid before", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_secret_after_its_exp_is_not_usable()
    {
        await using var h = await StartAsync();
        h.Vault.SetSecret("expired", "expired-secret-value", expires: Start.AddMinutes(-1));

        var e = await Assert.ThrowsAsync<SecretSourceException>(() => h.Source.FetchAsync(Binding("expired"), CancellationToken.None));

        Assert.Equal(SecretSourceError.NotUsable, e.Error);
        Assert.Contains("expired", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_secret_becomes_usable_once_the_clock_passes_nbf()
    {
        await using var h = await StartAsync();
        h.Vault.SetSecret("later", "later-secret-value", notBefore: Start.AddMinutes(10));

        await Assert.ThrowsAsync<SecretSourceException>(() => h.Source.FetchAsync(Binding("later"), CancellationToken.None));
        h.Time.Advance(TimeSpan.FromMinutes(10));
        var secret = await h.Source.FetchAsync(Binding("later"), CancellationToken.None);

        Assert.Equal("later-secret-value", secret.Value);
    }

    [Fact]
    public async Task ExpiresAt_is_the_refresh_interval_when_exp_is_later()
    {
        await using var h = await StartAsync(refreshInterval: TimeSpan.FromSeconds(30));
        h.Vault.SetSecret("long-lived", "long-lived-value", expires: Start.AddHours(1));

        var secret = await h.Source.FetchAsync(Binding("long-lived"), CancellationToken.None);

        Assert.Equal(Start.AddSeconds(30), secret.ExpiresAt);
    }

    [Fact]
    public async Task ExpiresAt_is_exp_when_exp_comes_before_the_refresh_interval()
    {
        await using var h = await StartAsync();
        var exp = Start.AddMinutes(2);
        h.Vault.SetSecret("short-lived", "short-lived-value", expires: exp);

        var secret = await h.Source.FetchAsync(Binding("short-lived"), CancellationToken.None);

        Assert.Equal(exp, secret.ExpiresAt);
    }

    [Fact]
    public async Task An_unknown_name_is_not_found()
    {
        await using var h = await StartAsync();

        var e = await Assert.ThrowsAsync<SecretSourceException>(() => h.Source.FetchAsync(Binding("missing"), CancellationToken.None));

        Assert.Equal(SecretSourceError.NotFound, e.Error);
        Assert.Contains("HTTP 404 SecretNotFound", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unknown_version_is_not_found()
    {
        await using var h = await StartAsync();
        h.Vault.SetSecret("versioned", "versioned-value");

        var e = await Assert.ThrowsAsync<SecretSourceException>(() =>
            h.Source.FetchAsync(Binding("versioned", "0123456789abcdef0123456789abcdef"), CancellationToken.None));

        Assert.Equal(SecretSourceError.NotFound, e.Error);
    }

    [Fact]
    public async Task An_identity_without_get_permission_is_forbidden()
    {
        await using var h = await StartAsync();
        h.Vault.SetSecret("guarded", "guarded-value");
        h.Vault.ForbidAll = true;

        var e = await Assert.ThrowsAsync<SecretSourceException>(() => h.Source.FetchAsync(Binding("guarded"), CancellationToken.None));

        Assert.Equal(SecretSourceError.Forbidden, e.Error);
        Assert.Contains("HTTP 403", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_credential_that_cannot_authenticate_is_forbidden()
    {
        await using var h = await StartAsync();
        h.Vault.SetSecret("any", "any-value");
        h.Credential.Fail = true;

        var e = await Assert.ThrowsAsync<SecretSourceException>(() => h.Source.FetchAsync(Binding("any"), CancellationToken.None));

        Assert.Equal(SecretSourceError.Forbidden, e.Error);
        Assert.Contains("Entra token", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_429_is_retried_by_the_sdk_honouring_Retry_After()
    {
        await using var h = await StartAsync();
        h.Vault.SetSecret("busy", "busy-value");
        h.Vault.RetryAfterSeconds = 1;
        await h.Source.FetchAsync(Binding("busy"), CancellationToken.None); // past the challenge
        h.Vault.Throttle(1);

        var started = TimeProvider.System.GetTimestamp();
        var secret = await h.Source.FetchAsync(Binding("busy"), CancellationToken.None);

        Assert.Equal("busy-value", secret.Value);
        Assert.Equal(4, h.Vault.Requests.Count); // challenge, fetch, 429, retry
        Assert.True(TimeProvider.System.GetElapsedTime(started) >= TimeSpan.FromMilliseconds(900));
    }

    [Fact]
    public async Task Throttling_that_outlasts_the_bounded_retries_is_unavailable()
    {
        await using var h = await StartAsync();
        h.Vault.SetSecret("busy", "busy-value");
        h.Vault.RetryAfterSeconds = 0;
        await h.Source.FetchAsync(Binding("busy"), CancellationToken.None);
        h.Vault.Throttle(int.MaxValue);

        var e = await Assert.ThrowsAsync<SecretSourceException>(() => h.Source.FetchAsync(Binding("busy"), CancellationToken.None));

        Assert.Equal(SecretSourceError.Unavailable, e.Error);
        Assert.Contains("HTTP 429", e.Message, StringComparison.Ordinal);
        Assert.Equal(2 + 3, h.Vault.Requests.Count); // one try and two retries, then it gives up
    }

    [Fact]
    public async Task An_unreachable_vault_is_unavailable()
    {
        var h = await StartAsync();
        await h.DisposeAsync(); // nothing listens on the port any more

        var e = await Assert.ThrowsAsync<SecretSourceException>(() => h.Source.FetchAsync(Binding("any"), CancellationToken.None));

        Assert.Equal(SecretSourceError.Unavailable, e.Error);
        Assert.Contains("unreachable", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_hung_vault_is_unavailable_after_the_call_timeout()
    {
        await using var h = await StartAsync();
        h.Vault.Stall = true;

        var fetch = h.Source.FetchAsync(Binding("any"), CancellationToken.None);
        await WaitUntilAsync(() => h.Vault.Requests.Count > 0);
        h.Time.Advance(AzureKeyVaultSecretSource.CallTimeout);
        var e = await Assert.ThrowsAsync<SecretSourceException>(() => fetch);

        Assert.Equal(SecretSourceError.Unavailable, e.Error);
    }

    [Fact]
    public async Task The_callers_cancellation_is_not_turned_into_a_source_error()
    {
        await using var h = await StartAsync();
        h.Vault.Stall = true;
        using var cancel = new CancellationTokenSource();

        var fetch = h.Source.FetchAsync(Binding("any"), cancel.Token);
        await WaitUntilAsync(() => h.Vault.Requests.Count > 0);
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => fetch);
    }

    [Fact]
    public async Task Bindings_without_a_valid_name_or_version_are_invalid_requests()
    {
        await using var h = await StartAsync();

        var noName = await Assert.ThrowsAsync<SecretSourceException>(() => h.Source.FetchAsync(Binding(""), CancellationToken.None));
        var badName = await Assert.ThrowsAsync<SecretSourceException>(() => h.Source.FetchAsync(Binding("a/../b"), CancellationToken.None));
        var badVersion = await Assert.ThrowsAsync<SecretSourceException>(() => h.Source.FetchAsync(Binding("ok", "1/2"), CancellationToken.None));
        var wrongSource = await Assert.ThrowsAsync<SecretSourceException>(() =>
            h.Source.FetchAsync(Binding("ok") with { Source = CredentialSources.VaultKv }, CancellationToken.None));

        Assert.All([noName, badName, badVersion, wrongSource], e => Assert.Equal(SecretSourceError.InvalidRequest, e.Error));
        Assert.Empty(h.Vault.Requests);
    }

    [Fact]
    public async Task Nothing_is_renewable_and_revoke_does_nothing()
    {
        await using var h = await StartAsync();
        h.Vault.SetSecret("plain", "plain-value");
        var secret = await h.Source.FetchAsync(Binding("plain"), CancellationToken.None);
        var before = h.Vault.Requests.Count;

        var e = await Assert.ThrowsAsync<SecretSourceException>(() => h.Source.RenewAsync(secret, CancellationToken.None));
        await h.Source.RevokeAsync(secret, CancellationToken.None);

        Assert.Equal(SecretSourceError.InvalidRequest, e.Error);
        Assert.Equal(before, h.Vault.Requests.Count);
        Assert.Equal(CredentialSources.AzureKeyVault, h.Source.Source);
    }

    [Fact]
    public async Task Health_is_a_404_for_the_probe_name()
    {
        await using var h = await StartAsync();

        var health = await h.Source.CheckHealthAsync(CancellationToken.None);

        Assert.True(health.Healthy, health.Detail);
        Assert.Equal(CredentialSources.AzureKeyVault, health.Source);
        Assert.Equal("/secrets/" + AzureKeyVaultSecretSource.HealthProbeSecretName, h.Vault.Requests[^1].Path.TrimEnd('/'));
    }

    [Fact]
    public async Task Health_is_false_when_the_vault_refuses_the_identity()
    {
        await using var h = await StartAsync();
        h.Vault.ForbidAll = true;

        var health = await h.Source.CheckHealthAsync(CancellationToken.None);

        Assert.False(health.Healthy);
        Assert.Contains("403", health.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Health_is_false_when_the_vault_is_unreachable()
    {
        var h = await StartAsync();
        await h.DisposeAsync();

        var health = await h.Source.CheckHealthAsync(CancellationToken.None);

        Assert.False(health.Healthy);
    }

    [Fact]
    public async Task Secret_values_appear_in_no_log_line_and_no_exception()
    {
        await using var h = await StartAsync();
        string[] values = ["leak-canary-latest-7f3a", "leak-canary-disabled-91c2", "leak-canary-future-03bd", "leak-canary-expired-c4e8", "leak-canary-old-5e11"];
        var old = h.Vault.SetSecret("canary", values[4]);
        h.Vault.SetSecret("canary", values[0], expires: Start.AddMinutes(1));
        h.Vault.SetSecret("canary-disabled", values[1], enabled: false);
        h.Vault.SetSecret("canary-future", values[2], notBefore: Start.AddDays(1));
        h.Vault.SetSecret("canary-expired", values[3], expires: Start.AddDays(-1));

        var observed = new List<string>();
        var fetched = await h.Source.FetchAsync(Binding("canary"), CancellationToken.None);
        var fetchedOld = await h.Source.FetchAsync(Binding("canary", old), CancellationToken.None);
        observed.Add(fetched.ToString());
        observed.Add(fetchedOld.ToString());
        foreach (var name in new[] { "canary-disabled", "canary-future", "canary-expired", "canary-missing" })
        {
            var e = await Assert.ThrowsAsync<SecretSourceException>(() => h.Source.FetchAsync(Binding(name), CancellationToken.None));
            observed.Add(e.ToString()); // message, inner SDK exception (status, error body, headers) and stack
        }
        h.Vault.ServeDisabledBundles = true;
        observed.Add((await Assert.ThrowsAsync<SecretSourceException>(() =>
            h.Source.FetchAsync(Binding("canary-disabled"), CancellationToken.None))).ToString());
        observed.Add((await h.Source.CheckHealthAsync(CancellationToken.None)).ToString());
        observed.AddRange(h.Logs.Lines);

        Assert.Equal(values[0], fetched.Value);
        Assert.Contains(h.Logs.Lines, line => line.Contains("canary", StringComparison.Ordinal)); // the logs did see the names
        foreach (var value in values)
        {
            Assert.DoesNotContain(observed, line => line.Contains(value, StringComparison.Ordinal));
        }
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        for (var i = 0; i < 200 && !condition(); i++)
        {
            await Task.Delay(10);
        }
        Assert.True(condition());
    }
}
