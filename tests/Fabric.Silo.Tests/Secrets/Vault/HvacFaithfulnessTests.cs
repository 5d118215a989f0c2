using System.Diagnostics;
using System.Text.Json;

namespace Fabric.Silo.Tests.Secrets.Vault;

/// <summary>
/// Proves <see cref="VaultApiDouble"/> faithful with a real third-party client: Debian's
/// <c>python3-hvac</c> (installed by <c>.ci/run</c>: <c>apt-get install -y python3-hvac</c>) runs
/// <c>hvac_probe.py</c> against it. A missing interpreter or hvac fails the test: it never skips.
/// The interpreter is Debian's <c>/usr/bin/python3</c> (where apt puts hvac), or <c>FABRIC_HVAC_PYTHON</c>.
/// </summary>
public sealed class HvacFaithfulnessTests
{
    private const string AptLine = "apt-get update && apt-get install -y python3-hvac";

    [Fact]
    public async Task Hvac_logs_in_reads_KV_and_dynamic_creds_renews_revokes_and_maps_errors_against_the_double()
    {
        await using var vault = await VaultApiDouble.StartAsync();
        vault.PutKv("secret", "mcp/github", new Dictionary<string, object?> { ["token"] = "ghp_v1" });
        vault.PutKv("secret", "mcp/github", new Dictionary<string, object?> { ["token"] = "ghp_v2", ["owner"] = "fabric" },
            new Dictionary<string, string> { ["rotated-by"] = "ops" });
        vault.PutKv("secret", "mcp/github", new Dictionary<string, object?> { ["token"] = "ghp_v3" });
        vault.DeleteKvVersion("secret", "mcp/github", 3);
        vault.PutKv("secret", "mcp/github", new Dictionary<string, object?> { ["token"] = "ghp_v4", ["owner"] = "fabric" });
        vault.AddDatabaseRole("database", "readonly", TimeSpan.FromHours(1), TimeSpan.FromHours(24));

        var result = await RunProbeAsync(vault, new Dictionary<string, string>
        {
            ["KV_MOUNT"] = "secret",
            ["KV_PATH"] = "mcp/github",
            ["DYNAMIC_PATH"] = "database/creds/readonly",
            ["DELETED_VERSION"] = "3",
            ["VAULT_NAMESPACE"] = "teams/fabric",
        });

        var login = result.GetProperty("login");
        Assert.True(login.GetProperty("has_client_token").GetBoolean());
        Assert.True(login.GetProperty("client_token_in_use").GetBoolean());
        Assert.Equal(1200, login.GetProperty("lease_duration").GetInt32());
        Assert.True(login.GetProperty("renewable").GetBoolean());
        Assert.True(login.GetProperty("has_accessor").GetBoolean());
        Assert.True(login.GetProperty("is_authenticated").GetBoolean());
        Assert.Contains("default", login.GetProperty("policies").EnumerateArray().Select(p => p.GetString()));

        var token = result.GetProperty("token");
        // Seconds left on the real clock: 1200 minus whatever the probe took to get here.
        Assert.InRange(token.GetProperty("ttl").GetInt32(), 1170, 1200);
        Assert.True(token.GetProperty("renewable").GetBoolean());
        Assert.Equal(1200, token.GetProperty("renewed_lease_duration").GetInt32());

        var kv = result.GetProperty("kv");
        Assert.Equal(new[] { "owner", "token" }, kv.GetProperty("keys").EnumerateArray().Select(k => k.GetString()!));
        Assert.Equal(4, kv.GetProperty("version").GetInt32());
        Assert.False(kv.GetProperty("destroyed").GetBoolean());
        Assert.Equal("", kv.GetProperty("deletion_time").GetString());
        Assert.Equal("ops", kv.GetProperty("custom_metadata").GetProperty("rotated-by").GetString());
        Assert.Equal(1, kv.GetProperty("first_version").GetInt32());
        Assert.Equal("", kv.GetProperty("lease_id").GetString());
        Assert.False(kv.GetProperty("renewable").GetBoolean());
        Assert.Equal(0, kv.GetProperty("lease_duration").GetInt32());
        Assert.True(kv.GetProperty("has_request_id").GetBoolean());

        var dynamic = result.GetProperty("dynamic");
        var leaseId = dynamic.GetProperty("lease_id").GetString()!;
        Assert.Matches("^database/creds/readonly/[A-Za-z0-9]{24}$", leaseId);
        Assert.Equal(3600, dynamic.GetProperty("lease_duration").GetInt32());
        Assert.True(dynamic.GetProperty("renewable").GetBoolean());
        Assert.Equal(new[] { "password", "username" }, dynamic.GetProperty("keys").EnumerateArray().Select(k => k.GetString()!));
        Assert.Equal(leaseId, dynamic.GetProperty("renewed_lease_id").GetString());
        Assert.Equal(600, dynamic.GetProperty("renewed_lease_duration").GetInt32());
        Assert.Equal(204, dynamic.GetProperty("revoke_status").GetInt32());
        Assert.True(vault.Lease(leaseId)!.Revoked);

        var errors = result.GetProperty("errors");
        AssertFailure(errors, "renew_after_revoke", "InvalidRequest", "lease not found or lease is not renewable");
        AssertFailure(errors, "bad_token", "Forbidden", "permission denied");
        AssertFailure(errors, "missing_path", "InvalidPath", null);
        AssertFailure(errors, "deleted_version", "InvalidPath", null);
        AssertFailure(errors, "bad_login", "InvalidRequest", "invalid role or secret ID");
        Assert.False(result.GetProperty("stranger_is_authenticated").GetBoolean());

        var health = result.GetProperty("health");
        Assert.True(health.GetProperty("initialized").GetBoolean());
        Assert.False(health.GetProperty("sealed").GetBoolean());
        Assert.False(health.GetProperty("standby").GetBoolean());

        // hvac sends the same headers the fabric's client does.
        Assert.All(vault.Requests, r => Assert.Equal("teams/fabric", r.Namespace));
        Assert.All(vault.Requests, r => Assert.Equal("true", r.VaultRequest));
        Assert.Contains(vault.Requests, r => r is { Method: "PUT", Path: "sys/leases/renew" });
        Assert.Contains(vault.Requests, r => r is { Method: "PUT", Path: "sys/leases/revoke" });
        Assert.Contains(vault.Requests, r => r is { Method: "POST", Path: "auth/approle/login" });
        Assert.Contains(vault.Requests, r => r is { Method: "GET", Path: "secret/data/mcp/github", Query: "?version=1" });
    }

    private static void AssertFailure(JsonElement errors, string name, string exception, string? message)
    {
        var failure = errors.GetProperty(name);
        Assert.True(exception == failure.GetProperty("exception").GetString(), $"{name}: expected hvac.exceptions.{exception}, got {failure}");
        if (message is not null)
        {
            Assert.Contains(message, failure.GetProperty("errors").EnumerateArray().Select(e => e.GetString()));
        }
    }

    private static async Task<JsonElement> RunProbeAsync(VaultApiDouble vault, Dictionary<string, string> environment)
    {
        var python = Environment.GetEnvironmentVariable("FABRIC_HVAC_PYTHON") is { Length: > 0 } configured ? configured : "/usr/bin/python3";
        var script = Path.Combine(AppContext.BaseDirectory, "Secrets", "Vault", "hvac_probe.py");
        Assert.True(File.Exists(script), $"{script} is missing: the test project copies hvac_probe.py to its output");
        if (!File.Exists(python))
        {
            Assert.Fail($"Debian's python3 ({python}) is missing; this test needs python3-hvac: {AptLine}");
        }

        var start = new ProcessStartInfo(python)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(script);
        start.Environment["VAULT_ADDR"] = vault.Address.ToString().TrimEnd('/');
        start.Environment["VAULT_CACERT"] = vault.CaFile;
        start.Environment["ROLE_ID"] = vault.RoleId;
        start.Environment["SECRET_ID"] = vault.SecretId;
        // hvac must not pick up a developer's real Vault settings.
        start.Environment.Remove("VAULT_TOKEN");
        start.Environment.Remove("REQUESTS_CA_BUNDLE");
        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await process.WaitForExitAsync(timeout.Token);
        var output = await stdout;
        var errors = await stderr;

        if (process.ExitCode == 3)
        {
            Assert.Fail($"hvac is not installed for {python}: {AptLine}\n{output}{errors}");
        }
        Assert.True(process.ExitCode == 0, $"hvac_probe.py exited {process.ExitCode}\nstdout: {output}\nstderr: {errors}");
        return JsonDocument.Parse(output).RootElement.Clone();
    }
}
