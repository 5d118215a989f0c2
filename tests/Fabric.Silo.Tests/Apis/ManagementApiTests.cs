using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Fabric.Contracts.Audit;
using Fabric.Contracts.Grains;
using Fabric.Contracts.Identity;
using static Fabric.Silo.Tests.Apis.ApiRequests;

namespace Fabric.Silo.Tests.Apis;

/// <summary>
/// The management API over real HTTP against the real silo host: authentication, problem details
/// naming the field, write-only secrets, policy versioning, servers, workloads, SVIDs, what-if
/// decisions and audit queries.
/// </summary>
[Collection(SiloApiCollection.Name)]
public sealed class ManagementApiTests(SiloApiFixture fixture)
{
    private const string Td = SiloApiFixture.TrustDomain;

    // ---------------------------------------------------------------- authentication

    /// <summary>Every admin route, with a body that would be accepted, so only authentication can refuse it.</summary>
    private static readonly (string Method, string Path, string? Body)[] AdminRoutes =
    [
        ("PUT", "/v1/secrets/auth-probe", """{"value":"v"}"""),
        ("GET", "/v1/secrets", null),
        ("DELETE", "/v1/secrets/auth-probe", null),
        ("PUT", "/v1/servers/auth-probe", """{"upstream":"https://tools.example.com/mcp"}"""),
        ("GET", "/v1/servers", null),
        ("GET", "/v1/servers/auth-probe", null),
        ("DELETE", "/v1/servers/auth-probe", null),
        ("PUT", "/v1/policies/auth-probe", $$"""{"subjects":["spiffe://{{Td}}/a"],"rules":[{"server":"s","effect":"allow"}]}"""),
        ("GET", "/v1/policies", null),
        ("GET", "/v1/policies/auth-probe", null),
        ("DELETE", "/v1/policies/auth-probe", null),
        ("GET", $"/v1/workloads/{Td}/auth-probe", null),
        ("PUT", $"/v1/workloads/{Td}/auth-probe", """{"enabled":false}"""),
        ("POST", "/v1/svids", $$"""{"spiffeId":"spiffe://{{Td}}/auth-probe","ttlSeconds":60}"""),
        ("POST", "/v1/decisions", $$"""{"workload":"spiffe://{{Td}}/auth-probe","server":"s","method":"ping"}"""),
        ("GET", "/v1/audit", null),
    ];

    private static readonly string[] BadAuthorizations = ["none", "wrong-token", "basic-scheme", "empty-bearer", "token-without-scheme"];

    public static TheoryData<string, string, string> UnauthenticatedRequests()
    {
        var data = new TheoryData<string, string, string>();
        foreach (var authorization in BadAuthorizations)
        {
            foreach (var (method, path, _) in AdminRoutes)
            {
                data.Add(authorization, method, path);
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(UnauthenticatedRequests))]
    public async Task Every_admin_route_answers_401_with_a_bearer_challenge_and_problem_json_without_the_admin_token(
        string authorization, string method, string path)
    {
        var body = AdminRoutes.Single(r => r.Method == method && r.Path == path).Body;
        using var request = Request(method, path, body);
        switch (authorization)
        {
            case "wrong-token":
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", SiloApiFixture.AdminToken + "x");
                break;
            case "basic-scheme":
                request.Headers.Authorization = new AuthenticationHeaderValue("Basic", SiloApiFixture.AdminToken);
                break;
            case "empty-bearer":
                request.Headers.TryAddWithoutValidation("Authorization", "Bearer ");
                break;
            case "token-without-scheme":
                request.Headers.TryAddWithoutValidation("Authorization", SiloApiFixture.AdminToken);
                break;
        }

        using var response = await fixture.Anonymous.SendAsync(request);

        var problem = await ProblemAsync(response, HttpStatusCode.Unauthorized);
        Assert.Contains(response.Headers.WwwAuthenticate, h => h.Scheme == "Bearer");
        Assert.Equal(401, problem.GetProperty("status").GetInt32());
    }

    [Fact]
    public async Task Unauthenticated_writes_change_nothing()
    {
        var secret = SiloApiFixture.Unique("unauth-secret");
        var server = SiloApiFixture.Unique("unauth-server");
        using (var put = await fixture.Anonymous.SendAsync(Request("PUT", "/v1/secrets/" + secret, """{"value":"v"}""")))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, put.StatusCode);
        }
        using (var put = await fixture.Anonymous.SendAsync(Request("PUT", "/v1/servers/" + server, """{"upstream":"https://tools.example.com/mcp"}""")))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, put.StatusCode);
        }

        Assert.DoesNotContain(secret, await fixture.Admin.GetStringAsync("/v1/secrets"), StringComparison.Ordinal);
        using var get = await fixture.Admin.GetAsync("/v1/servers/" + server);
        Assert.Equal(HttpStatusCode.NotFound, get.StatusCode);
    }

    [Fact]
    public async Task Trust_bundle_is_served_anonymously_as_pem_ca_certificates()
    {
        using var response = await fixture.Anonymous.GetAsync("/v1/bundle");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/x-pem-file", response.Content.Headers.ContentType?.MediaType);
        var pem = await response.Content.ReadAsStringAsync();
        var certificates = SvidPem.LoadCertificates(pem);
        Assert.NotEmpty(certificates);
        Assert.All(certificates, c =>
        {
            Assert.True(c.Extensions.OfType<System.Security.Cryptography.X509Certificates.X509BasicConstraintsExtension>().Single().CertificateAuthority);
            Assert.False(c.HasPrivateKey);
        });
        Assert.DoesNotContain("PRIVATE KEY", pem, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/health")]
    [InlineData("/alive")]
    public async Task Health_endpoints_answer_200_anonymously(string path)
    {
        using var response = await fixture.Anonymous.GetAsync(path);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    // ---------------------------------------------------------------- bad input

    /// <summary>"{u}" in a path is replaced by a unique name.</summary>
    [Theory]
    [InlineData("PUT", "/v1/policies/{u}", "{not json", "body")]
    [InlineData("PUT", "/v1/policies/{u}", """{"subjects": 5, "rules": []}""", "subjects")]
    [InlineData("PUT", "/v1/policies/{u}", """{"subjects": ["spiffe://fabric.local/a"]}""", "rules")]
    [InlineData("PUT", "/v1/policies/{u}", """{"rules": [{"server":"s","effect":"allow"}]}""", "subjects")]
    [InlineData("PUT", "/v1/policies/{u}", """{"subjects":["spiffe://fabric.local/a"],"rules":[{"server":"s","effect":"maybe"}]}""", "rules[0].effect")]
    [InlineData("PUT", "/v1/policies/{u}", """{"subjects":["spiffe://fabric.local/a"],"rules":[{"server":"s"}]}""", "rules[0].effect")]
    [InlineData("PUT", "/v1/policies/{u}", """{"subjects":["spiffe://fabric.local/a/*/b"],"rules":[{"server":"s","effect":"allow"}]}""", "subjects[0]")]
    [InlineData("PUT", "/v1/policies/{u}", """{"subjects":["spiffe://fabric.local"],"rules":[{"server":"s","effect":"allow"}]}""", "subjects[0]")]
    [InlineData("PUT", "/v1/policies/{u}", """{"subjects":["spiffe://fabric.local/a"],"rules":[{"server":"S_1","effect":"allow"}]}""", "rules[0].server")]
    [InlineData("PUT", "/v1/policies/{u}", """{"subjects":["spiffe://fabric.local/a"],"rules":[{"server":"s","effect":"allow","tools":[]}]}""", "rules[0].tools")]
    [InlineData("PUT", "/v1/servers/{u}", """{"upstream":"http://tools.example.com/mcp"}""", "upstream")]
    [InlineData("PUT", "/v1/servers/{u}", """{"upstream":"ftp://tools.example.com/mcp"}""", "upstream")]
    [InlineData("PUT", "/v1/servers/{u}", """{}""", "upstream")]
    [InlineData("PUT", "/v1/servers/{u}", """{"upstream":"https://tools.example.com/mcp","identity":"spiffe://Bad/x"}""", "identity")]
    [InlineData("PUT", "/v1/servers/{u}", """{"upstream":"https://tools.example.com/mcp","credential":{"source":"local","ref":"k","inject":{"header":"X-Key\r\nEvil: 1","format":"Bearer {secret}"}}}""", "credential.inject.header")]
    [InlineData("PUT", "/v1/servers/{u}", """{"upstream":"https://tools.example.com/mcp","credential":{"source":"local","ref":"k","inject":{"header":"Authorization","format":"Bearer {secret}\r\nEvil: 1"}}}""", "credential.inject.format")]
    [InlineData("PUT", "/v1/servers/{u}", """{"upstream":"https://tools.example.com/mcp","credential":{"source":"local","ref":"k","inject":{"header":"Authorization","format":"Bearer token"}}}""", "credential.inject.format")]
    [InlineData("PUT", "/v1/servers/{u}", """{"upstream":"https://tools.example.com/mcp","credential":{"source":"local","ref":"k","inject":{"header":"Host","format":"{secret}"}}}""", "credential.inject.header")]
    [InlineData("PUT", "/v1/servers/{u}", """{"upstream":"https://tools.example.com/mcp","credential":{"source":"local","ref":"bad name","inject":{"header":"Authorization","format":"Bearer {secret}"}}}""", "credential.ref")]
    [InlineData("PUT", "/v1/servers/{u}", """{"upstream":"https://tools.example.com/mcp","credential":{"source":"local","ref":"k"}}""", "credential.inject")]
    [InlineData("PUT", "/v1/servers/Upper-{u}", """{"upstream":"https://tools.example.com/mcp"}""", "name")]
    [InlineData("PUT", "/v1/secrets/bad!name-{u}", """{"value":"v"}""", "name")]
    [InlineData("PUT", "/v1/secrets/{u}", """{"value":""}""", "value")]
    [InlineData("PUT", "/v1/secrets/{u}", """{"value":"a\r\nb"}""", "value")]
    [InlineData("PUT", "/v1/secrets/{u}", """{"value":5}""", "value")]
    [InlineData("POST", "/v1/svids", """{"spiffeId":"spiffe://other.example/agent","ttlSeconds":60}""", "spiffeId")]
    [InlineData("POST", "/v1/svids", """{"spiffeId":"spiffe://fabric.local","ttlSeconds":60}""", "spiffeId")]
    [InlineData("POST", "/v1/svids", """{"spiffeId":"spiffe://fabric.local/agent","ttlSeconds":0}""", "ttlSeconds")]
    [InlineData("POST", "/v1/svids", """{"spiffeId":"spiffe://fabric.local/agent","ttlSeconds":-5}""", "ttlSeconds")]
    [InlineData("POST", "/v1/svids", """{"spiffeId":"not a spiffe id"}""", "spiffeId")]
    [InlineData("POST", "/v1/decisions", """{"server":"s","method":"ping"}""", "workload")]
    [InlineData("POST", "/v1/decisions", """{"workload":"spiffe://fabric.local/a","method":"ping"}""", "server")]
    [InlineData("POST", "/v1/decisions", """{"workload":"spiffe://fabric.local/a","server":"s"}""", "method")]
    [InlineData("PUT", "/v1/workloads/fabric.local/a@b-{u}", """{"enabled":false}""", "spiffeId")]
    [InlineData("PUT", "/v1/workloads/FABRIC.local/{u}", """{"enabled":false}""", "spiffeId")]
    [InlineData("GET", "/v1/workloads/fabric.local/a@b-{u}", null, "spiffeId")]
    [InlineData("PUT", "/v1/workloads/fabric.local/{u}", """{}""", "enabled")]
    [InlineData("PUT", "/v1/workloads/fabric.local/{u}", """{"enabled":"no"}""", "enabled")]
    [InlineData("GET", "/v1/audit?decision=maybe", null, "decision")]
    [InlineData("GET", "/v1/audit?limit=0", null, "limit")]
    [InlineData("GET", "/v1/audit?limit=1001", null, "limit")]
    [InlineData("GET", "/v1/audit?limit=abc", null, "limit")]
    [InlineData("POST", "/v1/svids", """{"spiffeId":"spiffe://fabric.local/agent","dnsNames":["not a name!"]}""", "dnsNames[0]")]
    [InlineData("POST", "/v1/svids", """{"spiffeId":"spiffe://fabric.local/agent","ipAddresses":["999.1.1.1"]}""", "ipAddresses[0]")]
    [InlineData("POST", "/v1/decisions", """{"workload":"spiffe://fabric.local/a","server":"s","method":"tools/call","arguments":[1]}""", "arguments")]
    [InlineData("PUT", "/v1/policies/Bad Name", """{"subjects":["spiffe://fabric.local/a"],"rules":[{"server":"s","effect":"allow"}]}""", "name")]
    public async Task Bad_input_is_a_400_problem_naming_the_field(string method, string path, string? body, string field)
    {
        using var request = Request(method, path.Replace("{u}", SiloApiFixture.Unique("bad"), StringComparison.Ordinal), body);

        using var response = await fixture.Admin.SendAsync(request);

        var problem = await ProblemAsync(response, HttpStatusCode.BadRequest);
        var errors = problem.GetProperty("errors");
        Assert.True(errors.TryGetProperty(field, out var messages), $"expected an error for '{field}' in {errors}");
        Assert.NotEqual(0, messages.GetArrayLength());
    }

    [Fact]
    public async Task A_body_that_is_not_json_content_is_a_400_naming_the_body()
    {
        using var request = new HttpRequestMessage(HttpMethod.Put, "/v1/secrets/" + SiloApiFixture.Unique("plain"))
        {
            Content = new StringContent("value=x", Encoding.UTF8, "text/plain"),
        };

        using var response = await fixture.Admin.SendAsync(request);

        var problem = await ProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.True(problem.GetProperty("errors").TryGetProperty("body", out _));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_body_over_one_mebibyte_is_a_413_problem_with_or_without_content_length(bool declareLength)
    {
        var json = """{"value":"x""" + new string('a', 1024 * 1024) + "\"}";
        var bytes = Encoding.UTF8.GetBytes(json);
        using var request = new HttpRequestMessage(HttpMethod.Put, "/v1/secrets/" + SiloApiFixture.Unique("large"))
        {
            Content = declareLength ? new ByteArrayContent(bytes) : new UnknownLengthContent(bytes),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");

        using var response = await fixture.Admin.SendAsync(request);

        await ProblemAsync(response, HttpStatusCode.RequestEntityTooLarge);
    }

    // ---------------------------------------------------------------- secrets are write-only

    [Fact]
    public async Task A_secret_value_never_comes_back_from_any_read_nor_appears_in_the_logs()
    {
        var value = "s3cret-" + Guid.NewGuid().ToString("N");
        var secret = SiloApiFixture.Unique("leak-secret");
        var server = SiloApiFixture.Unique("leak-server");
        var policy = SiloApiFixture.Unique("leak-policy");
        var workload = $"spiffe://{Td}/agents/{SiloApiFixture.Unique("leak")}";
        var observed = new List<string>();

        async Task<string> Send(string method, string path, string? body, HttpStatusCode expected)
        {
            using var response = await fixture.Admin.SendAsync(Request(method, path, body));
            var text = await response.Content.ReadAsStringAsync();
            Assert.True(expected == response.StatusCode, $"{method} {path} → {(int)response.StatusCode}: {text}");
            observed.Add($"{method} {path} {response.Headers} {response.Content.Headers} {text}");
            return text;
        }

        // Writes, including rejected ones whose body carries the value.
        Assert.Empty(await Send("PUT", "/v1/secrets/" + secret, $$"""{"value":"{{value}}"}""", HttpStatusCode.NoContent));
        await Send("PUT", "/v1/secrets/" + secret, $$"""{"value":"{{value}}\r\n"}""", HttpStatusCode.BadRequest);
        await Send("PUT", "/v1/secrets/" + secret, $$"""{"value":"{{value}}",}""", HttpStatusCode.BadRequest);
        await Send("PUT", "/v1/secrets/" + secret, $$"""{"value":"{{value}}""", HttpStatusCode.BadRequest);
        await Send("PUT", "/v1/secrets/" + secret, $$"""{"value":["{{value}}"]}""", HttpStatusCode.BadRequest);
        await Send("PUT", "/v1/servers/" + server,
            $$$$"""{"upstream":"https://tools.example.com/mcp","credential":{"source":"local","ref":"{{{{secret}}}}","inject":{"header":"Authorization","format":"Bearer {secret}"}}}""",
            HttpStatusCode.OK);
        await Send("PUT", "/v1/policies/" + policy,
            $$"""{"subjects":["{{workload}}"],"rules":[{"server":"{{server}}","effect":"allow"}]}""", HttpStatusCode.OK);
        await Send("POST", "/v1/decisions", $$"""{"workload":"{{workload}}","server":"{{server}}","method":"tools/call","name":"t"}""", HttpStatusCode.OK);

        // The value is live: a lease splices it (so the scan below is not vacuous).
        var lease = await fixture.Grains.GetGrain<ICredentialLeaseGrain>(server).GetAsync();
        Assert.Equal("Bearer " + value, lease.Credential?.HeaderValue);
        Assert.DoesNotContain(value, lease.Credential!.ToString(), StringComparison.Ordinal);
        await fixture.Grains.Audit().AppendAsync([Record(workload, server, allowed: true, leaseId: lease.Credential.LeaseId)]);

        // Every read the API has.
        var list = await Send("GET", "/v1/secrets", null, HttpStatusCode.OK);
        await Send("GET", "/v1/servers", null, HttpStatusCode.OK);
        await Send("GET", "/v1/servers/" + server, null, HttpStatusCode.OK);
        await Send("GET", "/v1/policies", null, HttpStatusCode.OK);
        await Send("GET", "/v1/policies/" + policy, null, HttpStatusCode.OK);
        await Send("GET", "/v1/audit", null, HttpStatusCode.OK);
        await Send("GET", "/v1/audit?server=" + server, null, HttpStatusCode.OK);
        await Send("GET", "/v1/workloads/" + workload["spiffe://".Length..], null, HttpStatusCode.OK);
        await Send("GET", "/v1/bundle", null, HttpStatusCode.OK);
        await Send("GET", "/health", null, HttpStatusCode.OK);
        await Send("GET", "/alive", null, HttpStatusCode.OK);
        await Send("DELETE", "/v1/secrets/" + secret, null, HttpStatusCode.NoContent);

        foreach (var response in observed)
        {
            Assert.DoesNotContain(value, response, StringComparison.Ordinal);
        }
        var listed = JsonNode.Parse(list)!["secrets"]!.AsArray().Single(s => (string?)s!["name"] == secret)!.AsObject();
        Assert.Equal(["createdAt", "name", "revision", "updatedAt"], listed.Select(p => p.Key).Order(StringComparer.Ordinal));
        // The scan sees this test's traffic (request lines name the secret), and never its value.
        Assert.Contains(fixture.Logs.Lines, line => line.Contains("/v1/secrets/" + secret, StringComparison.Ordinal));
        Assert.DoesNotContain(fixture.Logs.Lines, line => line.Contains(value, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Secrets_list_names_and_times_and_delete_twice_is_404_the_second_time()
    {
        var secret = SiloApiFixture.Unique("listed");
        using (var put = await fixture.Admin.SendAsync(Request("PUT", "/v1/secrets/" + secret, """{"value":"one"}""")))
        {
            Assert.Equal(HttpStatusCode.NoContent, put.StatusCode);
        }
        using (var put = await fixture.Admin.SendAsync(Request("PUT", "/v1/secrets/" + secret, """{"value":"two"}""")))
        {
            Assert.Equal(HttpStatusCode.NoContent, put.StatusCode);
        }

        var listed = JsonNode.Parse(await fixture.Admin.GetStringAsync("/v1/secrets"))!["secrets"]!.AsArray()
            .Single(s => (string?)s!["name"] == secret)!;
        Assert.Equal(2, (int)listed["revision"]!);
        Assert.True((DateTimeOffset)listed["updatedAt"]! >= (DateTimeOffset)listed["createdAt"]!);

        using (var delete = await fixture.Admin.DeleteAsync("/v1/secrets/" + secret))
        {
            Assert.Equal(HttpStatusCode.NoContent, delete.StatusCode);
        }
        using (var again = await fixture.Admin.DeleteAsync("/v1/secrets/" + secret))
        {
            Assert.Equal(HttpStatusCode.NotFound, again.StatusCode);
        }
        Assert.DoesNotContain(secret, await fixture.Admin.GetStringAsync("/v1/secrets"), StringComparison.Ordinal);
    }

    // ---------------------------------------------------------------- policies

    [Fact]
    public async Task Policy_versions_increase_monotonically_across_puts_and_deletes()
    {
        var a = SiloApiFixture.Unique("mono-a");
        var b = SiloApiFixture.Unique("mono-b");

        var v1 = await PutPolicyAsync(a, $"spiffe://{Td}/agents/*", "srv");
        var v2 = await PutPolicyAsync(b, $"spiffe://{Td}/agents/*", "srv");
        var v3 = await DeletePolicyAsync(a);
        var v4 = await PutPolicyAsync(b, $"spiffe://{Td}/other/*", "srv");

        Assert.True(v1 < v2 && v2 < v3 && v3 < v4, $"versions {v1}, {v2}, {v3}, {v4}");
        using (var again = await fixture.Admin.DeleteAsync("/v1/policies/" + a))
        {
            Assert.Equal(HttpStatusCode.NotFound, again.StatusCode);
        }
        using (var gone = await fixture.Admin.GetAsync("/v1/policies/" + a))
        {
            Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
        }
        var current = JsonNode.Parse(await fixture.Admin.GetStringAsync("/v1/policies/" + b))!;
        Assert.Equal(v4, (long)current["version"]!);
        Assert.Equal($"spiffe://{Td}/other/*", (string?)current["subjects"]![0]);
        var names = JsonNode.Parse(await fixture.Admin.GetStringAsync("/v1/policies"))!["policies"]!.AsArray().Select(p => (string?)p!["name"]).ToList();
        Assert.Contains(b, names);
        Assert.DoesNotContain(a, names);
    }

    [Theory]
    [InlineData("""{"subjects":["spiffe://fabric.local/a/*/b"],"rules":[{"server":"s","effect":"deny"}]}""")]
    [InlineData("""{"subjects":["spiffe://fabric.local/a"]}""")]
    [InlineData("""{"subjects":["spiffe://fabric.local/a"],"rules":[{"server":"s","effect":"maybe"}]}""")]
    [InlineData("""{"subjects":["spiffe://fabric.local/a"],"rules":[{"server":"s","effect":"deny","when":{"arguments":{"p":"x"}},"resources":["r"]}]}""")]
    public async Task A_rejected_put_leaves_the_previous_policy_and_the_catalog_version_in_force(string rejected)
    {
        var name = SiloApiFixture.Unique("keep");
        var version = await PutPolicyAsync(name, $"spiffe://{Td}/keep/*", "kept");
        var before = await fixture.Admin.GetStringAsync("/v1/policies/" + name);

        using (var response = await fixture.Admin.SendAsync(Request("PUT", "/v1/policies/" + name, rejected)))
        {
            await ProblemAsync(response, HttpStatusCode.BadRequest);
        }

        Assert.Equal(before, await fixture.Admin.GetStringAsync("/v1/policies/" + name));
        // The rejected put did not bump the catalog: the next accepted change is the very next version.
        var next = await PutPolicyAsync(SiloApiFixture.Unique("keep-next"), $"spiffe://{Td}/keep/*", "kept");
        Assert.Equal(version + 1, next);
    }

    [Fact]
    public async Task Put_policy_returns_the_stored_policy_with_its_version()
    {
        var name = SiloApiFixture.Unique("stored");
        var body = $$$$"""{"subjects":["spiffe://{{{{Td}}}}/a"],"rules":[{"server":"gh-*","effect":"allow","tools":["read_*"],"when":{"arguments":{"path":"/tmp/*"}}},{"server":"gh","effect":"deny","prompts":["p"]}]}""";

        using var response = await fixture.Admin.SendAsync(Request("PUT", "/v1/policies/" + name, body));
        var text = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var stored = JsonNode.Parse(text)!;
        Assert.Equal(name, (string?)stored["name"]);
        Assert.True((long)stored["version"]! > 0);
        Assert.Equal("allow", (string?)stored["rules"]![0]!["effect"]);
        Assert.Equal("/tmp/*", (string?)stored["rules"]![0]!["when"]!["arguments"]!["path"]);
        Assert.Equal("deny", (string?)stored["rules"]![1]!["effect"]);
        Assert.True(JsonNode.DeepEquals(stored, JsonNode.Parse(await fixture.Admin.GetStringAsync("/v1/policies/" + name))));
    }

    // ---------------------------------------------------------------- servers

    [Fact]
    public async Task Put_server_returns_the_stored_object_and_get_and_delete_round_trip()
    {
        var name = SiloApiFixture.Unique("srv");
        var body = """{"upstream":"https://tools.example.com/mcp","identity":"spiffe://tools.example/mcp","credential":{"source":"local","ref":"gh.token","inject":{"header":"Authorization","format":"Bearer {secret}"}}}""";

        using var put = await fixture.Admin.SendAsync(Request("PUT", "/v1/servers/" + name, body));
        Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        var stored = JsonNode.Parse(await put.Content.ReadAsStringAsync())!;
        Assert.Equal(name, (string?)stored["name"]);
        Assert.Equal("https://tools.example.com/mcp", (string?)stored["upstream"]);
        Assert.Equal("spiffe://tools.example/mcp", (string?)stored["identity"]);
        Assert.Equal("local", (string?)stored["credential"]!["source"]);
        Assert.Equal("gh.token", (string?)stored["credential"]!["ref"]);
        Assert.Equal("Authorization", (string?)stored["credential"]!["inject"]!["header"]);
        Assert.Equal("Bearer {secret}", (string?)stored["credential"]!["inject"]!["format"]);
        Assert.True((long)stored["revision"]! >= 1);

        Assert.True(JsonNode.DeepEquals(stored, JsonNode.Parse(await fixture.Admin.GetStringAsync("/v1/servers/" + name))));
        var listed = JsonNode.Parse(await fixture.Admin.GetStringAsync("/v1/servers"))!["servers"]!.AsArray();
        Assert.Contains(listed, s => JsonNode.DeepEquals(s, stored));

        using (var delete = await fixture.Admin.DeleteAsync("/v1/servers/" + name))
        {
            Assert.Equal(HttpStatusCode.NoContent, delete.StatusCode);
        }
        using (var again = await fixture.Admin.DeleteAsync("/v1/servers/" + name))
        {
            Assert.Equal(HttpStatusCode.NotFound, again.StatusCode);
        }
        using (var gone = await fixture.Admin.GetAsync("/v1/servers/" + name))
        {
            Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
        }
        Assert.DoesNotContain(name, await fixture.Admin.GetStringAsync("/v1/servers"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Putting_a_server_again_replaces_it_with_a_higher_revision()
    {
        var name = SiloApiFixture.Unique("srv-again");
        var first = await PutServerAsync(name, "https://one.example.com/mcp");
        var second = await PutServerAsync(name, "https://two.example.com/mcp");

        Assert.True((long)second["revision"]! > (long)first["revision"]!);
        Assert.Equal("https://two.example.com/mcp", (string?)JsonNode.Parse(await fixture.Admin.GetStringAsync("/v1/servers/" + name))!["upstream"]);
    }

    [Theory]
    [InlineData("https://tools.example.com/mcp", true)]
    [InlineData("https://tools.example.com:8443/", true)]
    [InlineData("http://localhost:8080/mcp", true)]
    [InlineData("http://127.0.0.1/mcp", true)]
    [InlineData("http://127.1.2.3:9000/mcp", true)]
    [InlineData("http://[::1]:8080/mcp", true)]
    [InlineData("http://tools.example.com/mcp", false)]
    [InlineData("http://localhost.example.com/mcp", false)]
    [InlineData("http://127.0.0.1.nip.io/mcp", false)]
    [InlineData("http://10.0.0.1/mcp", false)]
    [InlineData("http://[::2]/mcp", false)]
    [InlineData("https://user:pass@tools.example.com/mcp", false)]
    [InlineData("https://tools.example.com/mcp?key=abc", false)]
    [InlineData("/relative/mcp", false)]
    public async Task Upstreams_must_be_https_except_loopback_http(string upstream, bool accepted)
    {
        using var response = await fixture.Admin.SendAsync(Request("PUT", "/v1/servers/" + SiloApiFixture.Unique("up"), JsonSerializer.Serialize(new { upstream })));

        if (accepted)
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
        else
        {
            var problem = await ProblemAsync(response, HttpStatusCode.BadRequest);
            Assert.True(problem.GetProperty("errors").TryGetProperty("upstream", out _));
        }
    }

    // ---------------------------------------------------------------- workloads

    [Fact]
    public async Task Workload_enabled_flag_round_trips_and_get_shows_state_and_counters()
    {
        var path = $"{Td}/agents/{SiloApiFixture.Unique("wl")}/worker";

        var initial = JsonNode.Parse(await fixture.Admin.GetStringAsync("/v1/workloads/" + path))!;
        Assert.Equal("spiffe://" + path, (string?)initial["spiffeId"]);
        Assert.True((bool)initial["enabled"]!);
        Assert.Equal(0, (long)initial["allowed"]!);
        Assert.Equal(0, (long)initial["denied"]!);

        var disabled = await PutWorkloadAsync(path, enabled: false);
        Assert.False((bool)disabled["enabled"]!);
        Assert.False((bool)JsonNode.Parse(await fixture.Admin.GetStringAsync("/v1/workloads/" + path))!["enabled"]!);

        var enabled = await PutWorkloadAsync(path, enabled: true);
        Assert.True((bool)enabled["enabled"]!);
        Assert.True((bool)JsonNode.Parse(await fixture.Admin.GetStringAsync("/v1/workloads/" + path))!["enabled"]!);
    }

    [Fact]
    public async Task Workload_counters_reflect_audited_calls()
    {
        var workload = $"spiffe://{Td}/agents/{SiloApiFixture.Unique("counted")}";
        await fixture.Grains.Audit().AppendAsync(
            [Record(workload, "s", allowed: true), Record(workload, "s", allowed: true), Record(workload, "s", allowed: false)]);

        var status = JsonNode.Parse(await fixture.Admin.GetStringAsync("/v1/workloads/" + workload["spiffe://".Length..]))!;

        Assert.Equal(2, (long)status["allowed"]!);
        Assert.Equal(1, (long)status["denied"]!);
        Assert.NotNull(status["lastSeen"]);
    }

    // ---------------------------------------------------------------- SVIDs

    [Fact]
    public async Task Minted_svid_validates_against_the_returned_bundle_and_carries_exactly_the_requested_id()
    {
        var spiffeId = $"spiffe://{Td}/agents/{SiloApiFixture.Unique("svid")}/worker";
        var before = DateTimeOffset.UtcNow;

        using var response = await fixture.Admin.SendAsync(Request("POST", "/v1/svids",
            JsonSerializer.Serialize(new { spiffeId, ttlSeconds = 600, dnsNames = new[] { "agent.local" } })));
        var text = await response.Content.ReadAsStringAsync();

        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        var issued = JsonNode.Parse(text)!;
        var bundlePem = (string)issued["bundlePem"]!;
        using var leaf = SvidPem.LoadCertificate((string)issued["certificatePem"]!, (string)issued["privateKeyPem"]!);
        Assert.True(leaf.HasPrivateKey);
        var result = X509SvidValidator.Validate(leaf, null, TrustBundleSet.FromPem(Td, bundlePem), DateTimeOffset.UtcNow);
        Assert.True(result.IsValid, result.Error);
        Assert.Equal(spiffeId, result.Id.ToString());
        Assert.True(X509SvidValidator.ValidateExpected(leaf, null, TrustBundleSet.FromPem(Td, bundlePem), DateTimeOffset.UtcNow, SpiffeId.Parse(spiffeId)).IsValid);
        Assert.Equal(bundlePem, await fixture.Anonymous.GetStringAsync("/v1/bundle"));
        var expiresAt = (DateTimeOffset)issued["expiresAt"]!;
        Assert.InRange(expiresAt, before.AddSeconds(590), DateTimeOffset.UtcNow.AddSeconds(601));
    }

    // ---------------------------------------------------------------- decisions

    [Theory]
    [InlineData("tools/call", "read_file", null, true, "allowed", 0)]
    [InlineData("tools/call", "read_secret", null, false, "explicit-deny", 1)]
    [InlineData("tools/call", "delete_repo", null, false, "no-matching-allow", null)]
    [InlineData("tools/call", "write_file", """{"path":"/etc/passwd"}""", false, "argument-constraint", 2)]
    [InlineData("tools/call", "write_file", """{"path":"/tmp/out.txt"}""", true, "allowed", 2)]
    [InlineData("initialize", null, null, true, "allowed", 0)]
    [InlineData("unknown-server", null, null, false, "unknown-server", null)]
    public async Task What_if_decisions_explain_reason_policy_rule_and_version_without_side_effects(
        string method, string? name, string? arguments, bool allowed, string reason, int? rule)
    {
        var server = SiloApiFixture.Unique("dec-srv");
        var policy = SiloApiFixture.Unique("dec-pol");
        var workload = $"spiffe://{Td}/agents/{SiloApiFixture.Unique("dec")}";
        await PutServerAsync(server, "https://tools.example.com/mcp");
        var version = await PutPolicyAsync(policy, $$$$"""
            {"subjects":["{{{{workload}}}}"],"rules":[
              {"server":"{{{{server}}}}","effect":"allow","tools":["read_*"]},
              {"server":"{{{{server}}}}","effect":"deny","tools":["read_secret"]},
              {"server":"{{{{server}}}}","effect":"allow","tools":["write_file"],"when":{"arguments":{"path":"/tmp/*"}}}]}
            """);
        var countersBefore = await fixture.Admin.GetStringAsync("/v1/workloads/" + workload["spiffe://".Length..]);
        var askedServer = method == "unknown-server" ? SiloApiFixture.Unique("nowhere") : server;
        var askedMethod = method == "unknown-server" ? "tools/call" : method;
        var request = $$"""{"workload":"{{workload}}","server":"{{askedServer}}","method":"{{askedMethod}}"{{(name is null ? "" : $",\"name\":\"{name}\"")}}{{(arguments is null ? "" : ",\"arguments\":" + arguments)}}}""";

        using var response = await fixture.Admin.SendAsync(Request("POST", "/v1/decisions", request));
        var text = await response.Content.ReadAsStringAsync();

        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        var decision = JsonNode.Parse(text)!;
        Assert.Equal(allowed, (bool)decision["allowed"]!);
        Assert.Equal(reason, (string?)decision["reason"]);
        Assert.Equal(version, (long)decision["version"]!);
        Assert.Equal(rule, (int?)decision["rule"]);
        Assert.Equal(rule is null ? null : policy, (string?)decision["policy"]);

        // No side effects: counters unchanged, nothing audited.
        Assert.Equal(countersBefore, await fixture.Admin.GetStringAsync("/v1/workloads/" + workload["spiffe://".Length..]));
        var audit = JsonNode.Parse(await fixture.Admin.GetStringAsync("/v1/audit?workload=" + Uri.EscapeDataString(workload)))!;
        Assert.Empty(audit["records"]!.AsArray());
    }

    [Fact]
    public async Task A_disabled_workload_is_denied_with_workload_disabled()
    {
        var server = SiloApiFixture.Unique("dis-srv");
        var workload = $"spiffe://{Td}/agents/{SiloApiFixture.Unique("dis")}";
        await PutServerAsync(server, "https://tools.example.com/mcp");
        await PutPolicyAsync(SiloApiFixture.Unique("dis-pol"), workload, server);
        await PutWorkloadAsync(workload["spiffe://".Length..], enabled: false);

        using var response = await fixture.Admin.SendAsync(Request("POST", "/v1/decisions",
            JsonSerializer.Serialize(new { workload, server, method = "tools/call", name = "anything" })));

        var decision = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.False((bool)decision["allowed"]!);
        Assert.Equal("workload-disabled", (string?)decision["reason"]);
    }

    // ---------------------------------------------------------------- audit

    [Fact]
    public async Task Audit_query_filters_by_workload_server_and_decision_newest_first_up_to_the_limit()
    {
        var workload = $"spiffe://{Td}/agents/{SiloApiFixture.Unique("audited")}";
        var server = SiloApiFixture.Unique("aud-srv");
        var start = DateTimeOffset.UtcNow;
        AuditRecord[] records =
        [
            Record(workload, server, allowed: true, name: "first", time: start),
            Record(workload, server, allowed: false, name: "second", time: start.AddSeconds(1)),
            Record(workload, "elsewhere", allowed: true, name: "third", time: start.AddSeconds(2)),
            Record(workload, server, allowed: true, name: "fourth", time: start.AddSeconds(3)),
        ];
        await fixture.Grains.Audit().AppendAsync(records);

        async Task<string> Names(string query)
        {
            var json = JsonNode.Parse(await fixture.Admin.GetStringAsync("/v1/audit?" + query))!;
            return string.Join(",", json["records"]!.AsArray().Select(r => (string?)r!["name"]));
        }

        var w = "workload=" + Uri.EscapeDataString(workload);
        Assert.Equal("fourth,third,second,first", await Names(w));
        Assert.Equal("fourth,second,first", await Names($"{w}&server={server}"));
        Assert.Equal("fourth,first", await Names($"{w}&server={server}&decision=allow"));
        Assert.Equal("second", await Names($"{w}&decision=deny"));
        Assert.Equal("fourth,third", await Names($"{w}&limit=2"));
    }

    // ---------------------------------------------------------------- helpers

    private async Task<long> PutPolicyAsync(string name, string subject, string server) =>
        await PutPolicyAsync(name, $$"""{"subjects":["{{subject}}"],"rules":[{"server":"{{server}}","effect":"allow"}]}""");

    private async Task<long> PutPolicyAsync(string name, string body)
    {
        using var response = await fixture.Admin.SendAsync(Request("PUT", "/v1/policies/" + name, body));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        return (long)JsonNode.Parse(text)!["version"]!;
    }

    private async Task<long> DeletePolicyAsync(string name)
    {
        using var response = await fixture.Admin.DeleteAsync("/v1/policies/" + name);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        return (long)JsonNode.Parse(text)!["version"]!;
    }

    private async Task<JsonNode> PutServerAsync(string name, string upstream)
    {
        using var response = await fixture.Admin.SendAsync(Request("PUT", "/v1/servers/" + name, JsonSerializer.Serialize(new { upstream })));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        return JsonNode.Parse(text)!;
    }

    private async Task<JsonNode> PutWorkloadAsync(string path, bool enabled)
    {
        using var response = await fixture.Admin.SendAsync(Request("PUT", "/v1/workloads/" + path, JsonSerializer.Serialize(new { enabled })));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        return JsonNode.Parse(text)!;
    }

    private static AuditRecord Record(string workload, string server, bool allowed, string? name = null, DateTimeOffset? time = null, string? leaseId = null) => new()
    {
        Id = Guid.NewGuid(),
        Time = time ?? DateTimeOffset.UtcNow,
        Edge = "test-edge",
        Workload = workload,
        Server = server,
        Method = "tools/call",
        Name = name,
        Allowed = allowed,
        Reason = allowed ? "allowed" : "explicit-deny",
        LeaseId = leaseId,
    };

    /// <summary>A body sent chunked, so the server cannot refuse it by Content-Length alone.</summary>
    private sealed class UnknownLengthContent(byte[] bytes) : HttpContent
    {
        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) => stream.WriteAsync(bytes).AsTask();

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}
