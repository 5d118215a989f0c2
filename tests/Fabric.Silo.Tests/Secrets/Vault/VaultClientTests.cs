using System.Diagnostics;
using Fabric.Silo.Secrets;
using Fabric.Silo.Secrets.Vault;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Fabric.Silo.Tests.Secrets.Vault;

public sealed class VaultClientTests
{
    private static readonly CancellationToken None = CancellationToken.None;

    [Fact]
    public async Task AppRole_logs_in_lazily_and_every_request_carries_the_documented_headers()
    {
        await using var h = await VaultHarness.StartAsync();
        _ = h.Client;
        Assert.Empty(h.Vault.Requests);

        var secret = await h.Client.ReadKvAsync("secret", "mcp/github", null, None);

        Assert.Equal(2, secret.Metadata.Version);
        var requests = h.Vault.Requests;
        Assert.Collection(requests,
            login =>
            {
                Assert.Equal(("POST", "auth/approle/login"), (login.Method, login.Path));
                Assert.Null(login.Token);
                Assert.Contains($"\"role_id\":\"{h.Vault.RoleId}\"", login.Body, StringComparison.Ordinal);
            },
            read =>
            {
                Assert.Equal(("GET", "secret/data/mcp/github"), (read.Method, read.Path));
                Assert.Equal(h.Vault.IssuedAppRoleTokens.Single(), read.Token);
            });
        Assert.All(requests, r => Assert.Equal("true", r.VaultRequest));
        Assert.All(requests, r => Assert.Null(r.Namespace));
    }

    [Fact]
    public async Task Namespace_header_is_sent_on_every_request_when_configured()
    {
        await using var h = await VaultHarness.StartAsync(c => c["Fabric:Secrets:Vault:Namespace"] = "teams/fabric");

        await h.Client.ReadKvAsync("secret", "mcp/github", null, None);
        var lease = await h.Client.ReadAsync("database/creds/readonly", None);
        await h.Client.RevokeLeaseAsync(lease.LeaseId!, None);
        await h.Client.HealthAsync(None);

        Assert.Equal(5, h.Vault.Requests.Count);
        Assert.All(h.Vault.Requests, r => Assert.Equal("teams/fabric", r.Namespace));
    }

    [Fact]
    public async Task Token_auth_sends_the_configured_token_and_looks_its_ttl_up_once()
    {
        await using var h = await VaultHarness.StartAsync(c =>
        {
            c["Fabric:Secrets:Vault:Auth"] = "token";
            c["Fabric:Secrets:Vault:Token"] = VaultApiDouble.RootToken;
        });

        await h.Client.ReadKvAsync("secret", "mcp/github", null, None);
        await h.Client.ReadKvAsync("secret", "mcp/github", 1, None);

        Assert.Equal(1, h.Vault.Count("GET", "auth/token/lookup-self"));
        Assert.Equal(0, h.Vault.Count("POST", "auth/approle/login"));
        Assert.All(h.Vault.Requests, r => Assert.Equal(VaultApiDouble.RootToken, r.Token));
        // A root token has no TTL: nothing to renew, ever.
        Assert.Equal(((DateTimeOffset?)null, (DateTimeOffset?)null, false), h.Client.TokenSchedule!.Value);
    }

    [Fact]
    public async Task A_configured_renewable_token_is_renewed_at_two_thirds_of_its_ttl()
    {
        string token = "";
        await using var h = await VaultHarness.StartAsync(
            c =>
            {
                c["Fabric:Secrets:Vault:Auth"] = "token";
                c["Fabric:Secrets:Vault:Token"] = token;
            },
            vault => token = vault.CreateToken(TimeSpan.FromMinutes(30), renewable: true));

        await h.Client.ReadKvAsync("secret", "mcp/github", null, None);
        h.Time.Advance(TimeSpan.FromMinutes(21));
        await h.Client.ReadKvAsync("secret", "mcp/github", null, None);

        Assert.Equal(1, h.Vault.Count("POST", "auth/token/renew-self"));
        Assert.Equal(h.Time.GetUtcNow() + TimeSpan.FromMinutes(20), h.Client.TokenSchedule!.Value.RefreshAt);
    }

    [Fact]
    public async Task AppRole_token_is_renewed_with_renew_self_at_two_thirds_of_its_ttl()
    {
        await using var h = await VaultHarness.StartAsync(arrange: v => v.AppRoleTokenTtl = TimeSpan.FromMinutes(30));

        await h.Client.ReadKvAsync("secret", "mcp/github", null, None);
        var issued = h.Time.GetUtcNow();
        Assert.Equal(((DateTimeOffset?)(issued + TimeSpan.FromMinutes(20)), (DateTimeOffset?)(issued + TimeSpan.FromMinutes(30)), true), h.Client.TokenSchedule!.Value);

        h.Time.Advance(TimeSpan.FromMinutes(19));
        await h.Client.ReadKvAsync("secret", "mcp/github", null, None);
        Assert.Equal(0, h.Vault.Count("POST", "auth/token/renew-self"));

        h.Time.Advance(TimeSpan.FromMinutes(2));
        await h.Client.ReadKvAsync("secret", "mcp/github", null, None);

        Assert.Equal(1, h.Vault.Count("POST", "auth/token/renew-self"));
        Assert.Equal(1, h.Vault.Count("POST", "auth/approle/login"));
        var renew = h.Vault.Requests.Single(r => r.Path == "auth/token/renew-self");
        Assert.Equal(h.Vault.IssuedAppRoleTokens.Single(), renew.Token);
        // The TTL clock restarted at the renewal: 30 min from now, renewal due at 20.
        Assert.Equal(h.Time.GetUtcNow() + TimeSpan.FromMinutes(20), h.Client.TokenSchedule!.Value.RefreshAt);
        Assert.All(h.Vault.Requests.Where(r => r.Path.StartsWith("secret/", StringComparison.Ordinal)),
            r => Assert.Equal(h.Vault.IssuedAppRoleTokens.Single(), r.Token));
    }

    [Fact]
    public async Task A_non_renewable_AppRole_token_is_replaced_by_a_new_login_before_it_ends()
    {
        await using var h = await VaultHarness.StartAsync(arrange: v =>
        {
            v.AppRoleTokenTtl = TimeSpan.FromMinutes(30);
            v.AppRoleTokenRenewable = false;
        });

        await h.Client.ReadKvAsync("secret", "mcp/github", null, None);
        h.Time.Advance(TimeSpan.FromMinutes(21));
        await h.Client.ReadKvAsync("secret", "mcp/github", null, None);

        Assert.Equal(0, h.Vault.Count("POST", "auth/token/renew-self"));
        Assert.Equal(2, h.Vault.Count("POST", "auth/approle/login"));
        var tokens = h.Vault.IssuedAppRoleTokens;
        var reads = h.Vault.Requests.Where(r => r.Path == "secret/data/mcp/github").ToList();
        Assert.Equal(new[] { tokens[0], tokens[1] }, reads.Select(r => r.Token!));
    }

    [Fact]
    public async Task An_expired_AppRole_token_is_not_renewed_but_replaced()
    {
        await using var h = await VaultHarness.StartAsync(arrange: v => v.AppRoleTokenTtl = TimeSpan.FromMinutes(30));

        await h.Client.ReadKvAsync("secret", "mcp/github", null, None);
        h.Time.Advance(TimeSpan.FromMinutes(45));
        await h.Client.ReadKvAsync("secret", "mcp/github", null, None);

        Assert.Equal(0, h.Vault.Count("POST", "auth/token/renew-self"));
        Assert.Equal(2, h.Vault.Count("POST", "auth/approle/login"));
    }

    [Fact]
    public async Task A_refused_renew_self_falls_back_to_a_new_login()
    {
        await using var h = await VaultHarness.StartAsync(arrange: v => v.AppRoleTokenTtl = TimeSpan.FromMinutes(30));
        await h.Client.ReadKvAsync("secret", "mcp/github", null, None);
        h.Vault.InjectFault("auth/token/renew-self", VaultFault.WithStatus(403, "permission denied"));

        h.Time.Advance(TimeSpan.FromMinutes(21));
        await h.Client.ReadKvAsync("secret", "mcp/github", null, None);

        Assert.Equal(1, h.Vault.Count("POST", "auth/token/renew-self"));
        Assert.Equal(2, h.Vault.Count("POST", "auth/approle/login"));
        Assert.Equal(h.Vault.IssuedAppRoleTokens[1], h.Vault.Requests[^1].Token);
    }

    [Fact]
    public async Task A_403_to_a_token_thought_valid_logs_in_again_once_and_repeats_the_request()
    {
        await using var h = await VaultHarness.StartAsync();
        await h.Client.ReadKvAsync("secret", "mcp/github", null, None);
        h.Vault.RevokeToken(h.Vault.IssuedAppRoleTokens.Single());

        var secret = await h.Client.ReadKvAsync("secret", "mcp/github", null, None);

        Assert.Equal(2, secret.Metadata.Version);
        Assert.Equal(
            new[] { "POST auth/approle/login", "GET secret/data/mcp/github", "GET secret/data/mcp/github", "POST auth/approle/login", "GET secret/data/mcp/github" },
            h.Vault.Requests.Select(r => $"{r.Method} {r.Path}"));
    }

    [Fact]
    public async Task A_403_that_persists_after_one_new_login_is_Forbidden()
    {
        await using var h = await VaultHarness.StartAsync();
        h.Vault.InjectFault("secret/data/", VaultFault.WithStatus(403, "permission denied"), times: 5);

        var e = await Assert.ThrowsAsync<SecretSourceException>(() => h.Client.ReadKvAsync("secret", "mcp/github", null, None));

        Assert.Equal(SecretSourceError.Forbidden, e.Error);
        Assert.Contains("permission denied", e.Message, StringComparison.Ordinal);
        Assert.Equal(2, h.Vault.Count("POST", "auth/approle/login"));
        Assert.Equal(2, h.Vault.Count("GET", "secret/data/mcp/github"));
    }

    [Fact]
    public async Task Refused_AppRole_credentials_are_Forbidden_and_not_retried()
    {
        await using var h = await VaultHarness.StartAsync(c => c["Fabric:Secrets:Vault:SecretId"] = "not-the-secret-id");

        var e = await Assert.ThrowsAsync<SecretSourceException>(() => h.Client.ReadKvAsync("secret", "mcp/github", null, None));

        Assert.Equal(SecretSourceError.Forbidden, e.Error);
        Assert.Contains("invalid role or secret ID", e.Message, StringComparison.Ordinal);
        Assert.Equal(1, h.Vault.Count("POST", "auth/approle/login"));
        Assert.DoesNotContain("not-the-secret-id", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_wrong_configured_token_is_Forbidden_after_exactly_one_request()
    {
        await using var h = await VaultHarness.StartAsync(c =>
        {
            c["Fabric:Secrets:Vault:Auth"] = "token";
            c["Fabric:Secrets:Vault:Token"] = "hvs.not-a-token-vault-knows";
        });

        var e = await Assert.ThrowsAsync<SecretSourceException>(() => h.Client.ReadKvAsync("secret", "mcp/github", null, None));

        Assert.Equal(SecretSourceError.Forbidden, e.Error);
        Assert.Equal(1, h.Vault.Count("GET", "secret/data/mcp/github"));
        Assert.DoesNotContain("hvs.not-a-token", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task KV_read_returns_data_and_metadata_of_the_latest_or_a_given_version()
    {
        await using var h = await VaultHarness.StartAsync();

        var latest = await h.Client.ReadKvAsync("secret", "mcp/github", null, None);
        var first = await h.Client.ReadKvAsync("secret", "mcp/github", 1, None);

        Assert.True(latest.Data.TryGetText("token", out var latestToken, out _));
        Assert.Equal("ghp_second-version-value-0002", latestToken);
        Assert.Equal(2, latest.Metadata.Version);
        Assert.False(latest.Metadata.Destroyed);
        Assert.Null(latest.Metadata.DeletionTime);
        Assert.Equal(h.Time.GetUtcNow(), latest.Metadata.CreatedTime);
        Assert.Equal("ops", latest.Metadata.CustomMetadata!["rotated-by"]);
        Assert.True(first.Data.TryGetText("token", out var firstToken, out _));
        Assert.Equal("ghp_first-version-value-0001", firstToken);
        Assert.Equal("version=1", h.Vault.Requests[^1].Query.TrimStart('?'));
        Assert.DoesNotContain("ghp_", latest.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_deleted_or_destroyed_latest_version_is_NotFound_not_an_empty_value()
    {
        await using var h = await VaultHarness.StartAsync();
        h.Vault.DeleteKvVersion("secret", "mcp/github", 2);

        var deleted = await Assert.ThrowsAsync<SecretSourceException>(() => h.Client.ReadKvAsync("secret", "mcp/github", null, None));
        h.Vault.DestroyKvVersion("secret", "mcp/github", 1);
        var destroyed = await Assert.ThrowsAsync<SecretSourceException>(() => h.Client.ReadKvAsync("secret", "mcp/github", 1, None));

        Assert.Equal(SecretSourceError.NotFound, deleted.Error);
        Assert.Contains("version 2 was deleted", deleted.Message, StringComparison.Ordinal);
        Assert.Equal(SecretSourceError.NotFound, destroyed.Error);
        Assert.Contains("version 1 is destroyed", destroyed.Message, StringComparison.Ordinal);
        // 404 is an answer: one request each, no retry.
        Assert.Equal(2, h.Vault.Count("GET", "secret/data/mcp/github"));
    }

    [Fact]
    public async Task An_unknown_path_or_version_is_NotFound_after_one_request()
    {
        await using var h = await VaultHarness.StartAsync();

        var path = await Assert.ThrowsAsync<SecretSourceException>(() => h.Client.ReadKvAsync("secret", "mcp/nothing-here", null, None));
        var version = await Assert.ThrowsAsync<SecretSourceException>(() => h.Client.ReadKvAsync("secret", "mcp/github", 9, None));

        Assert.Equal(SecretSourceError.NotFound, path.Error);
        Assert.Equal(SecretSourceError.NotFound, version.Error);
        Assert.Equal(1, h.Vault.Count("GET", "secret/data/mcp/nothing-here"));
        Assert.Equal(1, h.Vault.Count("GET", "secret/data/mcp/github"));
    }

    [Theory]
    [InlineData("mcp/../sys/seal")]
    [InlineData("mcp//github")]
    [InlineData("")]
    public async Task Paths_with_empty_or_dot_segments_are_refused_before_any_request(string path)
    {
        await using var h = await VaultHarness.StartAsync();

        var e = await Assert.ThrowsAsync<SecretSourceException>(() => h.Client.ReadKvAsync("secret", path, null, None));

        Assert.Equal(SecretSourceError.InvalidRequest, e.Error);
        Assert.DoesNotContain(h.Vault.Requests, r => r.Path.StartsWith("secret", StringComparison.Ordinal) || r.Path.StartsWith("sys", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Dynamic_credentials_are_read_renewed_and_revoked()
    {
        await using var h = await VaultHarness.StartAsync();

        var lease = await h.Client.ReadAsync("database/creds/readonly", None);
        Assert.StartsWith("database/creds/readonly/", lease.LeaseId, StringComparison.Ordinal);
        Assert.Equal(TimeSpan.FromHours(1), lease.LeaseDuration);
        Assert.True(lease.Renewable);
        Assert.True(lease.Data.TryGetText("password", out var password, out _));
        Assert.Equal(h.Vault.Lease(lease.LeaseId!)!.Password, password);

        h.Time.Advance(TimeSpan.FromMinutes(40));
        var renewal = await h.Client.RenewLeaseAsync(lease.LeaseId!, TimeSpan.FromMinutes(30), None);
        Assert.Equal((lease.LeaseId, TimeSpan.FromMinutes(30), true), (renewal.LeaseId, renewal.LeaseDuration, renewal.Renewable));
        var renewBody = h.Vault.Requests.Single(r => r.Path == "sys/leases/renew");
        Assert.Equal("PUT", renewBody.Method);
        Assert.Contains($"\"lease_id\":\"{lease.LeaseId}\"", renewBody.Body, StringComparison.Ordinal);
        Assert.Contains("\"increment\":1800", renewBody.Body, StringComparison.Ordinal);

        await h.Client.RevokeLeaseAsync(lease.LeaseId!, None);
        Assert.True(h.Vault.Lease(lease.LeaseId!)!.Revoked);

        var again = await Assert.ThrowsAsync<SecretSourceException>(() => h.Client.RenewLeaseAsync(lease.LeaseId!, null, None));
        Assert.Equal(SecretSourceError.InvalidRequest, again.Error);
        Assert.Contains("lease not found or lease is not renewable", again.Message, StringComparison.Ordinal);
        Assert.Equal(2, h.Vault.Count("PUT", "sys/leases/renew"));
    }

    [Fact]
    public async Task Dynamic_reads_can_use_POST_for_engines_that_issue_on_a_write()
    {
        await using var h = await VaultHarness.StartAsync();

        var lease = await h.Client.ReadAsync("database/creds/readonly", HttpMethod.Post, None);

        Assert.NotNull(lease.LeaseId);
        Assert.Equal(1, h.Vault.Count("POST", "database/creds/readonly"));
    }

    [Fact]
    public async Task A_429_is_retried_after_the_Retry_After_it_names()
    {
        await using var h = await VaultHarness.StartAsync();
        await h.Client.ReadKvAsync("secret", "mcp/github", 1, None);
        h.Vault.InjectFault("secret/data/", VaultFault.RateLimited(retryAfter: "1"));

        var clock = Stopwatch.StartNew();
        var secret = await h.Client.ReadKvAsync("secret", "mcp/github", null, None);

        Assert.Equal(2, secret.Metadata.Version);
        Assert.Equal(3, h.Vault.Count("GET", "secret/data/mcp/github"));
        // The configured backoff is 5-10 ms: only Retry-After explains a wait of about a second.
        Assert.InRange(clock.Elapsed, TimeSpan.FromMilliseconds(900), TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task A_Retry_After_longer_than_MaxRetryAfter_is_cut_to_it()
    {
        await using var h = await VaultHarness.StartAsync(c => c["Fabric:Secrets:Vault:MaxRetryAfter"] = "00:00:00.050");
        h.Vault.InjectFault("secret/data/", VaultFault.RateLimited(retryAfter: "3600"));

        var clock = Stopwatch.StartNew();
        await h.Client.ReadKvAsync("secret", "mcp/github", null, None);

        Assert.Equal(2, h.Vault.Count("GET", "secret/data/mcp/github"));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"waited {clock.Elapsed}");
    }

    public static TheoryData<string> RetriedFaults => ["sealed-503", "internal-500", "bad-gateway-502", "precondition-412", "rate-limited-429", "connection-drop"];

    [Theory]
    [MemberData(nameof(RetriedFaults))]
    public async Task Retryable_failures_are_retried_and_the_retry_succeeds(string fault)
    {
        await using var h = await VaultHarness.StartAsync();
        await h.Client.ReadKvAsync("secret", "mcp/github", 1, None);
        h.Vault.InjectFault("secret/data/", Fault(fault));

        var secret = await h.Client.ReadKvAsync("secret", "mcp/github", null, None);

        Assert.Equal(2, secret.Metadata.Version);
        Assert.Equal(3, h.Vault.Count("GET", "secret/data/mcp/github"));
    }

    [Fact]
    public async Task Retries_are_bounded_and_a_persistent_503_is_Unavailable()
    {
        await using var h = await VaultHarness.StartAsync();
        await h.Client.ReadKvAsync("secret", "mcp/github", 1, None);
        h.Vault.InjectFault("secret/data/", VaultFault.Sealed, times: 10);

        var e = await Assert.ThrowsAsync<SecretSourceException>(() => h.Client.ReadKvAsync("secret", "mcp/github", null, None));

        Assert.Equal(SecretSourceError.Unavailable, e.Error);
        Assert.Contains("Vault is sealed", e.Message, StringComparison.Ordinal);
        // One try plus MaxRetries (2), as the official client.
        Assert.Equal(1 + 3, h.Vault.Count("GET", "secret/data/mcp/github"));
    }

    [Fact]
    public async Task Writes_are_retried_like_reads()
    {
        await using var h = await VaultHarness.StartAsync();
        var lease = await h.Client.ReadAsync("database/creds/readonly", None);
        h.Vault.InjectFault("sys/leases/revoke", VaultFault.Internal);

        await h.Client.RevokeLeaseAsync(lease.LeaseId!, None);

        Assert.Equal(2, h.Vault.Count("PUT", "sys/leases/revoke"));
        Assert.True(h.Vault.Lease(lease.LeaseId!)!.Revoked);
    }

    [Theory]
    [InlineData(400, SecretSourceError.InvalidRequest)]
    [InlineData(403, SecretSourceError.Forbidden)]
    [InlineData(404, SecretSourceError.NotFound)]
    [InlineData(405, SecretSourceError.InvalidRequest)]
    [InlineData(501, SecretSourceError.Unavailable)]
    public async Task Answers_that_are_not_retryable_are_mapped_after_exactly_one_request(int status, SecretSourceError expected)
    {
        await using var h = await VaultHarness.StartAsync(c =>
        {
            c["Fabric:Secrets:Vault:Auth"] = "token";
            c["Fabric:Secrets:Vault:Token"] = VaultApiDouble.RootToken;
        });
        await h.Client.ReadKvAsync("secret", "mcp/github", 1, None);
        h.Vault.InjectFault("secret/data/", VaultFault.WithStatus(status, $"injected {status}"), times: 5);

        var e = await Assert.ThrowsAsync<SecretSourceException>(() => h.Client.ReadKvAsync("secret", "mcp/github", null, None));

        Assert.Equal(expected, e.Error);
        Assert.Contains($"injected {status}", e.Message, StringComparison.Ordinal);
        Assert.Equal(2, h.Vault.Count("GET", "secret/data/mcp/github"));
    }

    [Theory]
    [InlineData(VaultHealthState.Active, 200, true, "active")]
    [InlineData(VaultHealthState.Standby, 429, true, "standby")]
    [InlineData(VaultHealthState.PerformanceStandby, 473, true, "performance standby")]
    [InlineData(VaultHealthState.DrSecondary, 472, false, "disaster-recovery secondary")]
    [InlineData(VaultHealthState.NotInitialized, 501, false, "not initialized")]
    [InlineData(VaultHealthState.Sealed, 503, false, "sealed")]
    public async Task Health_maps_the_documented_status_codes_without_retrying_them(VaultHealthState state, int status, bool healthy, string described)
    {
        await using var h = await VaultHarness.StartAsync(arrange: v => v.Health = state);

        var health = await h.Client.HealthAsync(None);

        Assert.Equal((status, healthy, described), (health.StatusCode, health.Healthy, health.State));
        Assert.Equal(VaultApiDouble.VaultVersion, health.Version);
        Assert.Equal(1, h.Vault.Count("GET", "sys/health"));
        Assert.Null(h.Vault.Requests.Single().Token);
    }

    [Fact]
    public async Task A_server_the_CA_file_does_not_vouch_for_is_Unavailable()
    {
        var otherCa = Path.Combine(Path.GetTempPath(), $"fabric-other-ca-{Guid.NewGuid():N}.pem");
        using (var key = System.Security.Cryptography.ECDsa.Create())
        {
            var request = new System.Security.Cryptography.X509Certificates.CertificateRequest("CN=Other CA", key, System.Security.Cryptography.HashAlgorithmName.SHA256);
            using var other = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddDays(1));
            await File.WriteAllTextAsync(otherCa, other.ExportCertificatePem());
        }
        try
        {
            await using var h = await VaultHarness.StartAsync(c => c["Fabric:Secrets:Vault:CaFile"] = otherCa);

            var e = await Assert.ThrowsAsync<SecretSourceException>(() => h.Client.ReadKvAsync("secret", "mcp/github", null, None));

            Assert.Equal(SecretSourceError.Unavailable, e.Error);
            Assert.Empty(h.Vault.Requests);
        }
        finally
        {
            File.Delete(otherCa);
        }
    }

    [Fact]
    public async Task An_unreachable_server_is_Unavailable()
    {
        var port = FreePort.Next();
        await using var h = await VaultHarness.StartAsync(c => c["Fabric:Secrets:Vault:Address"] = $"https://127.0.0.1:{port}");

        var e = await Assert.ThrowsAsync<SecretSourceException>(() => h.Client.ReadKvAsync("secret", "mcp/github", null, None));
        var health = await Assert.ThrowsAsync<SecretSourceException>(() => h.Client.HealthAsync(None));

        Assert.Equal(SecretSourceError.Unavailable, e.Error);
        Assert.Contains("unreachable", e.Message, StringComparison.Ordinal);
        Assert.Equal(SecretSourceError.Unavailable, health.Error);
    }

    [Theory]
    [InlineData("http://vault.internal:8200", "token", "t", null, "uses http on a non-loopback host")]
    [InlineData("vault.internal:8200", "token", "t", null, "must be an absolute https URL")]
    [InlineData("https://vault.internal:8200", "token", null, null, "Token is required")]
    [InlineData("https://vault.internal:8200", "approle", null, null, "RoleId is required")]
    [InlineData("https://vault.internal:8200", "kerberos", "t", null, "Auth must be 'token' or 'approle'")]
    [InlineData("https://vault.internal:8200", "token", "t", "/nonexistent/ca.pem", "CaFile '/nonexistent/ca.pem': file not found")]
    public void Bad_options_fail_validation_with_a_message_naming_the_key(string address, string auth, string? token, string? caFile, string expected)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Fabric:Secrets:Vault:Address"] = address,
            ["Fabric:Secrets:Vault:Auth"] = auth,
            ["Fabric:Secrets:Vault:Token"] = token,
            ["Fabric:Secrets:Vault:CaFile"] = caFile,
        }).Build();
        using var services = new ServiceCollection().AddLogging().AddVaultSecretSources(configuration).BuildServiceProvider();

        var e = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IOptions<VaultOptions>>().Value);

        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.Contains("Fabric:Secrets:Vault:", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("http://127.0.0.1:8200")]
    [InlineData("http://localhost:8200")]
    [InlineData("http://[::1]:8200")]
    [InlineData("https://vault.internal:8200")]
    public void Https_anywhere_and_http_on_loopback_are_accepted(string address)
    {
        var result = new VaultOptionsValidator().Validate(null, new VaultOptions { Address = address, Token = "t" });

        Assert.True(result.Succeeded, result.FailureMessage);
    }

    [Fact]
    public void Nothing_is_registered_without_an_address()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Fabric:Secrets:Vault:Token"] = "t",
        }).Build();
        using var services = new ServiceCollection().AddLogging().AddVaultSecretSources(configuration).BuildServiceProvider();

        Assert.Empty(services.GetServices<ISecretSource>());
        Assert.Null(services.GetService<VaultClient>());
    }

    private static VaultFault Fault(string name) => name switch
    {
        "sealed-503" => VaultFault.Sealed,
        "internal-500" => VaultFault.Internal,
        "bad-gateway-502" => VaultFault.WithStatus(502, "upstream failed"),
        "precondition-412" => VaultFault.WithStatus(412, "required index state not present"),
        "rate-limited-429" => VaultFault.RateLimited(retryAfter: null),
        "connection-drop" => VaultFault.Drop,
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };
}
