using System.Net.Http.Json;
using System.Text.Json;

namespace Fabric.Testing;

/// <summary>Node attestation for test edges: a join token from the management API, as the edge's arguments.</summary>
public static class EdgeJoinArguments
{
    /// <summary>The bootstrap endpoint on a free port, for any silo a test starts (the default 5443 is one per machine).</summary>
    public const string AnyBootstrapPort = "--Fabric:Bootstrap:Url=https://127.0.0.1:0";

    /// <summary>Creates a join token for <paramref name="edgeName"/> through <paramref name="admin"/> and returns the edge arguments that use it.</summary>
    public static async Task<string[]> ForAsync(HttpClient admin, string edgeName, int ttlSeconds = 600)
    {
        using var response = await admin.PostAsJsonAsync("/v1/join-tokens", new { edgeName, ttlSeconds });
        var body = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"POST /v1/join-tokens → {(int)response.StatusCode}: {body}");
        }
        using var json = JsonDocument.Parse(body);
        var root = json.RootElement;
        return
        [
            $"--Fabric:Edge:Join:Token={root.GetProperty("token").GetString()}",
            $"--Fabric:Edge:Join:BootstrapUrl={root.GetProperty("bootstrapUrl").GetString()}",
            $"--Fabric:Edge:Join:CaSha256={root.GetProperty("caSha256").GetString()}",
        ];
    }
}
