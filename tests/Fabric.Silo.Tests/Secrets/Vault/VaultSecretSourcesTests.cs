using Fabric.Contracts.Servers;
using Fabric.Silo.Secrets;

namespace Fabric.Silo.Tests.Secrets.Vault;

public sealed class VaultSecretSourcesTests
{
    private static readonly CancellationToken None = CancellationToken.None;
    private static readonly InjectSpec Bearer = new("Authorization", "Bearer {secret}");

    private static CredentialBinding Kv(string? field = "token", string? version = null, string? mount = "secret", string? path = "mcp/github") =>
        new(CredentialSources.VaultKv, null, false, Bearer, Mount: mount, Path: path, Field: field, Version: version);

    private static CredentialBinding Dynamic(string? field = "password", string? path = "database/creds/readonly") =>
        new(CredentialSources.VaultDynamic, null, true, Bearer, Path: path, Field: field);

    [Fact]
    public async Task KV_fetch_returns_the_field_of_the_latest_version_valid_for_the_refresh_interval()
    {
        await using var h = await VaultHarness.StartAsync(c => c["Fabric:Secrets:Vault:KvRefreshInterval"] = "00:02:00");

        var secret = await h.Kv.FetchAsync(Kv(), None);

        Assert.Equal("ghp_second-version-value-0002", secret.Value);
        Assert.Equal("2", secret.Version);
        Assert.Equal(h.Time.GetUtcNow() + TimeSpan.FromMinutes(2), secret.ExpiresAt);
        Assert.Equal(TimeSpan.FromMinutes(2), secret.LeaseDuration);
        Assert.False(secret.Renewable);
        Assert.Null(secret.SourceLeaseId);
    }

    [Fact]
    public async Task KV_fetch_of_a_pinned_version_reads_that_version()
    {
        await using var h = await VaultHarness.StartAsync();

        var secret = await h.Kv.FetchAsync(Kv(version: "1"), None);

        Assert.Equal(("ghp_first-version-value-0001", "1"), (secret.Value, secret.Version));
        Assert.Equal("?version=1", h.Vault.Requests[^1].Query);
    }

    [Fact]
    public async Task KV_fetch_of_a_missing_field_is_NotFound_naming_the_field_and_no_value()
    {
        await using var h = await VaultHarness.StartAsync();

        var e = await Assert.ThrowsAsync<SecretSourceException>(() => h.Kv.FetchAsync(Kv(field: "api_key"), None));

        Assert.Equal(SecretSourceError.NotFound, e.Error);
        Assert.Contains("'api_key'", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("ghp_", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("fabric", e.Message.Replace("mcp/github", "", StringComparison.Ordinal), StringComparison.Ordinal);
    }

    [Fact]
    public async Task KV_fetch_of_a_deleted_latest_version_is_credential_unavailable_not_an_empty_string()
    {
        await using var h = await VaultHarness.StartAsync();
        h.Vault.DeleteKvVersion("secret", "mcp/github", 2);

        var e = await Assert.ThrowsAsync<SecretSourceException>(() => h.Kv.FetchAsync(Kv(), None));

        Assert.Equal(SecretSourceError.NotFound, e.Error);
        Assert.Contains("deleted", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null, null, "mcp/github", "needs 'field'")]
    [InlineData("token", "v2", "mcp/github", "version 'v2' is not a positive integer")]
    [InlineData("token", "0", "mcp/github", "version '0' is not a positive integer")]
    [InlineData("token", null, null, "needs 'path'")]
    public async Task KV_bindings_missing_a_reference_are_InvalidRequest_before_any_request(string? field, string? version, string? path, string expected)
    {
        await using var h = await VaultHarness.StartAsync();

        var e = await Assert.ThrowsAsync<SecretSourceException>(() => h.Kv.FetchAsync(Kv(field, version, path: path), None));

        Assert.Equal(SecretSourceError.InvalidRequest, e.Error);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.Empty(h.Vault.Requests);
    }

    [Fact]
    public async Task KV_has_nothing_to_renew_or_revoke()
    {
        await using var h = await VaultHarness.StartAsync();
        var secret = await h.Kv.FetchAsync(Kv(), None);
        var before = h.Vault.Requests.Count;

        await h.Kv.RevokeAsync(secret, None);
        var renew = await Assert.ThrowsAsync<SecretSourceException>(() => h.Kv.RenewAsync(secret, None));

        Assert.Equal(SecretSourceError.InvalidRequest, renew.Error);
        Assert.Equal(before, h.Vault.Requests.Count);
    }

    [Fact]
    public async Task Dynamic_fetch_is_a_new_lease_whose_field_is_the_value()
    {
        await using var h = await VaultHarness.StartAsync();

        var secret = await h.Dynamic.FetchAsync(Dynamic(), None);

        var lease = h.Vault.Lease(secret.SourceLeaseId!)!;
        Assert.StartsWith("database/creds/readonly/", secret.SourceLeaseId, StringComparison.Ordinal);
        Assert.Equal(lease.Password, secret.Value);
        Assert.True(lease.Active);
        Assert.Equal(TimeSpan.FromHours(1), secret.LeaseDuration);
        Assert.Equal(h.Time.GetUtcNow() + TimeSpan.FromHours(1), secret.ExpiresAt);
        Assert.True(secret.Renewable);
        Assert.DoesNotContain(secret.Value, secret.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Per_workload_fetches_are_distinct_leases_with_distinct_credentials()
    {
        await using var h = await VaultHarness.StartAsync();

        var first = await h.Dynamic.FetchAsync(Dynamic(), None);
        var second = await h.Dynamic.FetchAsync(Dynamic(), None);

        Assert.NotEqual(first.SourceLeaseId, second.SourceLeaseId);
        Assert.NotEqual(first.Value, second.Value);
        Assert.Equal(2, h.Vault.Leases.Count(l => l.Active));
    }

    [Fact]
    public async Task Dynamic_renew_extends_the_lease_from_now_by_what_Vault_granted()
    {
        await using var h = await VaultHarness.StartAsync(arrange: v => v.AddDatabaseRole("database", "short", TimeSpan.FromMinutes(15), TimeSpan.FromMinutes(25)));
        var secret = await h.Dynamic.FetchAsync(Dynamic(path: "database/creds/short"), None);

        h.Time.Advance(TimeSpan.FromMinutes(10));
        var renewed = await h.Dynamic.RenewAsync(secret, None);

        Assert.Equal((secret.Value, secret.SourceLeaseId), (renewed.Value, renewed.SourceLeaseId));
        Assert.Equal(TimeSpan.FromMinutes(15), renewed.LeaseDuration);
        Assert.Equal(h.Time.GetUtcNow() + TimeSpan.FromMinutes(15), renewed.ExpiresAt);

        // Near the role's max TTL Vault grants only what is left.
        h.Time.Advance(TimeSpan.FromMinutes(10));
        var capped = await h.Dynamic.RenewAsync(renewed, None);
        Assert.Equal(TimeSpan.FromMinutes(5), capped.LeaseDuration);
        Assert.Equal(h.Time.GetUtcNow() + TimeSpan.FromMinutes(5), capped.ExpiresAt);
    }

    [Fact]
    public async Task Dynamic_revoke_ends_the_lease_and_a_renewal_after_it_is_InvalidRequest()
    {
        await using var h = await VaultHarness.StartAsync();
        var secret = await h.Dynamic.FetchAsync(Dynamic(), None);

        await h.Dynamic.RevokeAsync(secret, None);
        var e = await Assert.ThrowsAsync<SecretSourceException>(() => h.Dynamic.RenewAsync(secret, None));

        Assert.True(h.Vault.Lease(secret.SourceLeaseId!)!.Revoked);
        Assert.Equal(SecretSourceError.InvalidRequest, e.Error);
        Assert.Contains("lease not found or lease is not renewable", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_lease_past_its_end_cannot_be_renewed()
    {
        await using var h = await VaultHarness.StartAsync();
        var secret = await h.Dynamic.FetchAsync(Dynamic(), None);

        h.Time.Advance(TimeSpan.FromHours(2));
        var e = await Assert.ThrowsAsync<SecretSourceException>(() => h.Dynamic.RenewAsync(secret, None));

        Assert.Equal(SecretSourceError.InvalidRequest, e.Error);
    }

    [Fact]
    public async Task Dynamic_fetch_of_a_missing_field_is_NotFound_and_revokes_the_unusable_lease()
    {
        await using var h = await VaultHarness.StartAsync();

        var e = await Assert.ThrowsAsync<SecretSourceException>(() => h.Dynamic.FetchAsync(Dynamic(field: "token"), None));

        Assert.Equal(SecretSourceError.NotFound, e.Error);
        Assert.Contains("'token'", e.Message, StringComparison.Ordinal);
        var lease = Assert.Single(h.Vault.Leases);
        Assert.True(lease.Revoked);
        Assert.DoesNotContain(lease.Password!, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Dynamic_fetch_of_an_unknown_mount_is_NotFound()
    {
        await using var h = await VaultHarness.StartAsync();

        var e = await Assert.ThrowsAsync<SecretSourceException>(() => h.Dynamic.FetchAsync(Dynamic(path: "nosuch/creds/readonly"), None));

        Assert.Equal(SecretSourceError.NotFound, e.Error);
        Assert.Equal(1, h.Vault.Count("GET", "nosuch/creds/readonly"));
    }

    [Fact]
    public async Task A_dynamic_read_without_a_lease_is_re_read_after_the_KV_refresh_interval()
    {
        await using var h = await VaultHarness.StartAsync(
            c => c["Fabric:Secrets:Vault:KvRefreshInterval"] = "00:03:00",
            v => v.PutKvV1("kv", "legacy/api", new Dictionary<string, object?> { ["key"] = "legacy-api-key-value" }));

        var secret = await h.Dynamic.FetchAsync(Dynamic(field: "key", path: "kv/legacy/api"), None);

        Assert.Equal("legacy-api-key-value", secret.Value);
        Assert.Null(secret.SourceLeaseId);
        Assert.False(secret.Renewable);
        Assert.Equal(h.Time.GetUtcNow() + TimeSpan.FromMinutes(3), secret.ExpiresAt);
        await h.Dynamic.RevokeAsync(secret, None);
        Assert.DoesNotContain(h.Vault.Requests, r => r.Path == "sys/leases/revoke");
    }

    [Fact]
    public async Task Health_of_both_sources_follows_sys_health()
    {
        await using var h = await VaultHarness.StartAsync();

        var up = await h.Kv.CheckHealthAsync(None);
        h.Vault.Health = VaultHealthState.Sealed;
        var sealedKv = await h.Kv.CheckHealthAsync(None);
        var sealedDynamic = await h.Dynamic.CheckHealthAsync(None);

        Assert.Equal(("vault-kv", true), (up.Source, up.Healthy));
        Assert.Equal(("vault-kv", false), (sealedKv.Source, sealedKv.Healthy));
        Assert.Equal(("vault-dynamic", false), (sealedDynamic.Source, sealedDynamic.Healthy));
        Assert.Contains("sealed", sealedKv.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unreachable_Vault_is_unhealthy_not_an_exception()
    {
        await using var h = await VaultHarness.StartAsync(c => c["Fabric:Secrets:Vault:Address"] = $"https://127.0.0.1:{FreePort.Next()}");

        var health = await h.Dynamic.CheckHealthAsync(None);

        Assert.False(health.Healthy);
        Assert.Contains("unreachable", health.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Secrets_and_tokens_never_reach_the_logs_or_error_messages()
    {
        await using var h = await VaultHarness.StartAsync(arrange: v => v.AppRoleTokenTtl = TimeSpan.FromMinutes(30));
        var messages = new List<string>();

        var kv = await h.Kv.FetchAsync(Kv(), None);
        var dynamic = await h.Dynamic.FetchAsync(Dynamic(), None);
        h.Time.Advance(TimeSpan.FromMinutes(21));
        var renewed = await h.Dynamic.RenewAsync(dynamic, None);
        h.Vault.RevokeToken(h.Vault.IssuedAppRoleTokens[^1]);
        await h.Dynamic.RevokeAsync(renewed, None);
        messages.Add((await Assert.ThrowsAsync<SecretSourceException>(() => h.Dynamic.RenewAsync(renewed, None))).Message);
        messages.Add((await Assert.ThrowsAsync<SecretSourceException>(() => h.Kv.FetchAsync(Kv(field: "nope"), None))).Message);
        messages.Add((await Assert.ThrowsAsync<SecretSourceException>(() => h.Dynamic.FetchAsync(Dynamic(field: "nope"), None))).Message);
        h.Vault.InjectFault("secret/", VaultFault.Sealed, times: 10);
        messages.Add((await Assert.ThrowsAsync<SecretSourceException>(() => h.Kv.FetchAsync(Kv(), None))).Message);
        messages.AddRange([kv.ToString(), dynamic.ToString(), renewed.ToString()]);

        var forbidden = new List<string> { kv.Value, dynamic.Value, h.Vault.SecretId, VaultApiDouble.RootToken, "ghp_first-version-value-0001" };
        forbidden.AddRange(h.Vault.IssuedAppRoleTokens);
        forbidden.AddRange(h.Vault.Leases.Select(l => l.Password!));
        Assert.True(h.Vault.IssuedAppRoleTokens.Count >= 2, "the scenario should have logged in twice");
        Assert.Contains(h.Logs.Lines, l => l.Contains("sys/leases/renew", StringComparison.Ordinal));
        var observable = h.AllLogText + "\n" + string.Join('\n', messages);
        foreach (var value in forbidden)
        {
            Assert.DoesNotContain(value, observable, StringComparison.Ordinal);
        }
    }
}
