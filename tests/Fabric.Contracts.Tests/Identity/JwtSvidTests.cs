using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Fabric.Contracts.Identity;

namespace Fabric.Contracts.Tests.Identity;

/// <summary>The JWT-SVID validation rules (spiffe/spiffe standards/JWT-SVID.md §3–4) as a table, every row a refusal but the first.</summary>
public sealed class JwtSvidTests
{
    private const string Audience = "spiffe://a.test/fabric/edge/e1";
    private static readonly DateTimeOffset Now = DateTimeOffset.FromUnixTimeSeconds(1_800_000_000);
    private static readonly ECDsa Key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    private static readonly ECDsa OtherKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    private static readonly RSA RsaKey = RSA.Create(2048);
    private static readonly SpiffeId Agent = SpiffeId.Parse("spiffe://a.test/agents/planner");

    private static readonly JwtBundleSet Bundles = JwtBundleSet.Empty
        .With("a.test", [new JwtKey("k1", Key.ExportSubjectPublicKeyInfo()), new JwtKey("rsa", RsaKey.ExportSubjectPublicKeyInfo())])
        .With("b.test", [new JwtKey("kb", OtherKey.ExportSubjectPublicKeyInfo())]);

    [Fact]
    public void A_token_the_ca_issued_validates_and_names_its_subject()
    {
        var token = JwtSvid.Issue(Key, "k1", Agent, [Audience], Now, TimeSpan.FromMinutes(5));

        var result = JwtSvid.Validate(token, Bundles, Audience, Now);

        Assert.True(result.IsValid, result.Error);
        Assert.Equal(Agent, result.Id);
    }

    [Fact]
    public void An_rs256_token_from_an_rsa_key_of_the_bundle_validates()
    {
        var token = Sign(Header("RS256", "rsa"), Payload(), data => RsaKey.SignData(data, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1));

        Assert.True(JwtSvid.Validate(token, Bundles, Audience, Now).IsValid);
    }

    public static TheoryData<string, string> Refusals => new()
    {
        { Sign(Header("none", "k1"), Payload(), _ => []).TrimEnd('.') + ".", "a part is not base64url" },
        { Sign(Header("none", "k1"), Payload(), _ => [0]), "alg 'none' is not allowed" },
        { Sign(Header("HS256", "k1"), Payload(), data => HMACSHA256.HashData(Key.ExportSubjectPublicKeyInfo(), data)), "alg 'HS256' is not allowed" },
        { EsToken(Header("ES256", null), Payload()), "header has no kid" },
        { EsToken(Header("ES256", "k1", typ: "at+jwt"), Payload()), "typ must be JWT or JOSE" },
        { EsToken("""{"alg":"ES256","kid":"k1","crit":["exp"]}""", Payload()), "crit extensions are not supported" },
        { EsToken("""{"alg":"ES256","kid":"k1","alg":"none"}""", Payload()), "each name once" },
        { EsToken(Header("ES256", "k1"), Payload(aud: null)), "aud is required" },
        { EsToken(Header("ES256", "k1"), Payload(aud: "\"spiffe://a.test/fabric/edge/other\"")), "aud does not name" },
        { EsToken(Header("ES256", "k1"), Payload(aud: "[]")), "non-empty array" },
        { EsToken(Header("ES256", "k1"), Payload(exp: null)), "exp is required" },
        { EsToken(Header("ES256", "k1"), Payload(exp: Now.ToUnixTimeSeconds())), "token has expired" },
        { EsToken(Header("ES256", "k1"), Payload(exp: Now.ToUnixTimeSeconds() - 3600)), "token has expired" },
        { EsToken(Header("ES256", "k1"), Payload(nbf: Now.ToUnixTimeSeconds() + 60)), "not yet valid" },
        { EsToken(Header("ES256", "k1"), Payload(sub: "spiffe://a.test")), "sub must be a SPIFFE ID with a path" },
        { EsToken(Header("ES256", "k1"), Payload(sub: "https://a.test/agents/planner")), "sub must be a SPIFFE ID with a path" },
        { EsToken(Header("ES256", "k9"), Payload()), "no key 'k9' in the JWT bundle of 'a.test'" },
        // A key of another trust domain never vouches for this one's IDs, even under its kid.
        { EsToken(Header("ES256", "kb"), Payload()), "no key 'kb' in the JWT bundle of 'a.test'" },
        { Sign(Header("ES256", "k1"), Payload(), data => OtherKey.SignData(data, HashAlgorithmName.SHA256)), "signature does not verify" },
        // An EC key under an RS alg, an RSA key under an ES alg: the key type must fit the algorithm.
        { Sign(Header("RS256", "k1"), Payload(), data => Key.SignData(data, HashAlgorithmName.SHA256)), "signature does not verify" },
        { Sign(Header("ES384", "k1"), Payload(), data => Key.SignData(data, HashAlgorithmName.SHA384)), "signature does not verify" },
        { Tamper(JwtSvid.Issue(Key, "k1", Agent, [Audience], Now, TimeSpan.FromMinutes(5))), "signature does not verify" },
        { "a.b", "three base64url parts" },
        { "", "no token" },
        { new string('a', JwtSvid.MaxTokenLength + 1), "longer than" },
    };

    [Theory]
    [MemberData(nameof(Refusals))]
    public void Every_rule_refuses_its_token(string token, string error)
    {
        var result = JwtSvid.Validate(token, Bundles, Audience, Now);

        Assert.False(result.IsValid);
        Assert.Contains(error, result.Error, StringComparison.Ordinal);
    }

    private static string Header(string alg, string? kid, string? typ = "JWT") =>
        JsonSerializer.Serialize(new Dictionary<string, string?> { ["alg"] = alg, ["kid"] = kid, ["typ"] = typ }.Where(p => p.Value is not null).ToDictionary());

    private static string Payload(string sub = "spiffe://a.test/agents/planner", string? aud = "\"" + Audience + "\"", long? exp = 1_800_000_300, long? nbf = null) =>
        "{" + string.Join(",", new[]
        {
            $"\"sub\":\"{sub}\"",
            aud is null ? null : $"\"aud\":{aud}",
            exp is null ? null : $"\"exp\":{exp}",
            nbf is null ? null : $"\"nbf\":{nbf}",
        }.Where(p => p is not null)) + "}";

    private static string EsToken(string header, string payload) => Sign(header, payload, data => Key.SignData(data, HashAlgorithmName.SHA256));

    private static string Sign(string header, string payload, Func<byte[], byte[]> sign)
    {
        var input = B64(Encoding.UTF8.GetBytes(header)) + "." + B64(Encoding.UTF8.GetBytes(payload));
        return input + "." + B64(sign(Encoding.ASCII.GetBytes(input)));
    }

    private static string Tamper(string token)
    {
        var parts = token.Split('.');
        var payload = Encoding.UTF8.GetString(Convert.FromBase64String(Pad(parts[1])))
            .Replace("agents/planner", "agents/admin", StringComparison.Ordinal);
        return parts[0] + "." + B64(Encoding.UTF8.GetBytes(payload)) + "." + parts[2];
    }

    private static string Pad(string s)
    {
        s = s.Replace('-', '+').Replace('_', '/');
        return s + new string('=', (4 - s.Length % 4) % 4);
    }

    private static string B64(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
