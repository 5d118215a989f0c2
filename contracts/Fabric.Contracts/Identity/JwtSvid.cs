using System.Collections.Immutable;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Fabric.Contracts.Identity;

/// <summary>A JWT-SVID signing key as a bundle publishes it: its <c>kid</c> and its public key (SubjectPublicKeyInfo, DER).</summary>
[GenerateSerializer, Immutable, Alias("fabric.jwt-key")]
public sealed record JwtKey([property: Id(0)] string KeyId, [property: Id(1)] byte[] PublicKey);

/// <summary>
/// The JWT-SVID keys an edge trusts, per trust domain: a token is checked only against the keys of its own
/// <c>sub</c>'s trust domain (as an X509-SVID is against its own domain's roots). Immutable; keys imported once.
/// </summary>
public sealed class JwtBundleSet
{
    private readonly ImmutableDictionary<string, ImmutableDictionary<string, AsymmetricAlgorithm>> _keys;

    private JwtBundleSet(ImmutableDictionary<string, ImmutableDictionary<string, AsymmetricAlgorithm>> keys) => _keys = keys;

    public static JwtBundleSet Empty { get; } = new(ImmutableDictionary.Create<string, ImmutableDictionary<string, AsymmetricAlgorithm>>(StringComparer.Ordinal));

    /// <summary>A new set in which <paramref name="trustDomain"/> has exactly <paramref name="keys"/> (EC or RSA public keys).</summary>
    public JwtBundleSet With(string trustDomain, IEnumerable<JwtKey> keys)
    {
        var imported = ImmutableDictionary.CreateBuilder<string, AsymmetricAlgorithm>(StringComparer.Ordinal);
        foreach (var key in keys)
        {
            imported[key.KeyId] = Import(key.PublicKey);
        }
        return new JwtBundleSet(_keys.SetItem(trustDomain, imported.ToImmutable()));
    }

    public JwtBundleSet Without(string trustDomain) => new(_keys.Remove(trustDomain));

    public bool TryGetKey(string trustDomain, string keyId, [NotNullWhen(true)] out AsymmetricAlgorithm? key)
    {
        key = null;
        return _keys.TryGetValue(trustDomain, out var keys) && keys.TryGetValue(keyId, out key);
    }

    private static AsymmetricAlgorithm Import(byte[] subjectPublicKeyInfo)
    {
        try
        {
            var ec = ECDsa.Create();
            ec.ImportSubjectPublicKeyInfo(subjectPublicKeyInfo, out _);
            return ec;
        }
        catch (CryptographicException)
        {
            var rsa = RSA.Create();
            rsa.ImportSubjectPublicKeyInfo(subjectPublicKeyInfo, out _);
            return rsa;
        }
    }
}

/// <summary>The outcome of a JWT-SVID validation: the SPIFFE ID, or why the token is refused.</summary>
public sealed record JwtSvidValidation(SpiffeId? Id, string? Error)
{
    [MemberNotNullWhen(true, nameof(Id))]
    [MemberNotNullWhen(false, nameof(Error))]
    public bool IsValid => Id is not null;
}

/// <summary>
/// JWT-SVIDs (spiffe/spiffe standards/JWT-SVID.md): issued here with ES256, validated per §3 and §4 of the
/// standard: <c>sub</c> a SPIFFE ID, <c>aud</c> required and naming the validator, <c>exp</c> required, only the
/// RS, ES and PS algorithms (never <c>none</c> or a MAC), the key by <c>kid</c> from the bundle of <c>sub</c>'s trust
/// domain. Strict on the wire, as everything else is: compact form only, names once per object, no <c>crit</c>.
/// </summary>
public static class JwtSvid
{
    public const int MaxTokenLength = 8 * 1024;

    /// <summary>A JWT-SVID for <paramref name="subject"/>, signed ES256 with <paramref name="key"/> (a P-256 key).</summary>
    public static string Issue(ECDsa key, string keyId, SpiffeId subject, IReadOnlyList<string> audience, DateTimeOffset now, TimeSpan ttl)
    {
        var header = JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object> { ["alg"] = "ES256", ["kid"] = keyId, ["typ"] = "JWT" });
        var payload = JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object>
        {
            ["sub"] = subject.ToString(),
            ["aud"] = audience.Count == 1 ? audience[0] : audience,
            ["iat"] = now.ToUnixTimeSeconds(),
            ["exp"] = (now + ttl).ToUnixTimeSeconds(),
        });
        var signingInput = Base64Url(header) + "." + Base64Url(payload);
        var signature = key.SignData(Encoding.ASCII.GetBytes(signingInput), HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        return signingInput + "." + Base64Url(signature);
    }

    public static JwtSvidValidation Validate(string? token, JwtBundleSet bundles, string audience, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(bundles);
        if (string.IsNullOrEmpty(token))
        {
            return Invalid("no token");
        }
        if (token.Length > MaxTokenLength)
        {
            return Invalid($"token longer than {MaxTokenLength} characters");
        }
        var parts = token.Split('.');
        if (parts.Length != 3)
        {
            return Invalid("not a compact JWS (three base64url parts)");
        }
        if (!TryDecode(parts[0], out var headerBytes) || !TryDecode(parts[1], out var payloadBytes) || !TryDecode(parts[2], out var signature))
        {
            return Invalid("a part is not base64url");
        }
        try
        {
            using var header = Parse(headerBytes);
            using var payload = Parse(payloadBytes);
            if (header is null || payload is null)
            {
                return Invalid("header and payload must be JSON objects with each name once");
            }
            return CheckHeader(header.RootElement, out var alg, out var kid)
                ?? CheckPayload(payload.RootElement, audience, now, out var sub)
                ?? CheckSignature(bundles, sub!, kid!, alg!, parts[0] + "." + parts[1], signature)
                ?? new JwtSvidValidation(sub, null);
        }
        catch (Exception ex) when (ex is JsonException or CryptographicException or InvalidOperationException or FormatException)
        {
            return Invalid("malformed token");
        }
    }

    private static JwtSvidValidation? CheckHeader(JsonElement header, out string? alg, out string? kid)
    {
        alg = String(header, "alg");
        kid = String(header, "kid");
        if (alg is null)
        {
            return Invalid("header has no alg");
        }
        if (Hash(alg) is null)
        {
            // none, HS256 (a MAC anyone holding the "public" key could forge), or anything unknown.
            return Invalid($"alg '{alg}' is not allowed: only RS256/384/512, ES256/384/512, PS256/384/512");
        }
        if (string.IsNullOrEmpty(kid))
        {
            return Invalid("header has no kid");
        }
        if (header.TryGetProperty("typ", out var typ) && (typ.ValueKind != JsonValueKind.String || typ.GetString() is not ("JWT" or "JOSE")))
        {
            return Invalid("typ must be JWT or JOSE");
        }
        return header.TryGetProperty("crit", out _) ? Invalid("crit extensions are not supported") : null;
    }

    private static JwtSvidValidation? CheckPayload(JsonElement payload, string audience, DateTimeOffset now, out SpiffeId? sub)
    {
        sub = null;
        if (String(payload, "sub") is not { } subject || !SpiffeId.TryParse(subject, out sub, out var error) || !sub.IsWorkload)
        {
            sub = null;
            return Invalid("sub must be a SPIFFE ID with a path");
        }
        if (!payload.TryGetProperty("aud", out var aud))
        {
            return Invalid("aud is required");
        }
        var audiences = aud.ValueKind switch
        {
            JsonValueKind.String => [aud.GetString()!],
            JsonValueKind.Array when aud.EnumerateArray().All(a => a.ValueKind == JsonValueKind.String) => aud.EnumerateArray().Select(a => a.GetString()!).ToArray(),
            _ => (string[]?)null,
        };
        if (audiences is null || audiences.Length == 0)
        {
            return Invalid("aud must be a string or a non-empty array of strings");
        }
        if (!audiences.Contains(audience, StringComparer.Ordinal))
        {
            return Invalid($"aud does not name '{audience}'");
        }
        if (!payload.TryGetProperty("exp", out var exp) || exp.ValueKind != JsonValueKind.Number || !exp.TryGetInt64(out var expSeconds))
        {
            return Invalid("exp is required (a NumericDate)");
        }
        if (now.ToUnixTimeSeconds() >= expSeconds)
        {
            return Invalid("token has expired");
        }
        if (payload.TryGetProperty("nbf", out var nbf) && (!nbf.TryGetInt64(out var nbfSeconds) || now.ToUnixTimeSeconds() < nbfSeconds))
        {
            return Invalid("token is not yet valid");
        }
        _ = error;
        return null;
    }

    private static JwtSvidValidation? CheckSignature(JwtBundleSet bundles, SpiffeId sub, string kid, string alg, string signingInput, byte[] signature)
    {
        if (!bundles.TryGetKey(sub.TrustDomain, kid, out var key))
        {
            return Invalid($"no key '{kid}' in the JWT bundle of '{sub.TrustDomain}'");
        }
        var data = Encoding.ASCII.GetBytes(signingInput);
        var hash = Hash(alg)!.Value;
        var valid = (alg[0], key) switch
        {
            ('E', ECDsa ec) => ec.KeySize == CurveBits(alg) && ec.VerifyData(data, signature, hash, DSASignatureFormat.IeeeP1363FixedFieldConcatenation),
            ('R', RSA rsa) => rsa.KeySize >= 2048 && rsa.VerifyData(data, signature, hash, RSASignaturePadding.Pkcs1),
            ('P', RSA rsa) => rsa.KeySize >= 2048 && rsa.VerifyData(data, signature, hash, RSASignaturePadding.Pss),
            _ => false,
        };
        return valid ? null : Invalid("signature does not verify with the trust domain's key");
    }

    private static HashAlgorithmName? Hash(string alg) => alg switch
    {
        "RS256" or "ES256" or "PS256" => HashAlgorithmName.SHA256,
        "RS384" or "ES384" or "PS384" => HashAlgorithmName.SHA384,
        "RS512" or "ES512" or "PS512" => HashAlgorithmName.SHA512,
        _ => null,
    };

    private static int CurveBits(string alg) => alg switch { "ES256" => 256, "ES384" => 384, _ => 521 };

    private static string? String(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static JsonDocument? Parse(byte[] json)
    {
        var document = JsonDocument.Parse(json);
        if (document.RootElement.ValueKind != JsonValueKind.Object || HasDuplicate(document.RootElement))
        {
            document.Dispose();
            return null;
        }
        return document;
    }

    private static bool HasDuplicate(JsonElement element)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var property in element.EnumerateObject())
        {
            if (!seen.Add(property.Name) || property.Value.ValueKind == JsonValueKind.Object && HasDuplicate(property.Value))
            {
                return true;
            }
        }
        return false;
    }

    private static bool TryDecode(string part, out byte[] bytes)
    {
        bytes = [];
        if (part.Length == 0 || part.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '-' or '_')))
        {
            return false;
        }
        if (!System.Buffers.Text.Base64Url.IsValid(part))
        {
            return false;
        }
        bytes = System.Buffers.Text.Base64Url.DecodeFromChars(part);
        return true;
    }

    private static string Base64Url(byte[] bytes) => System.Buffers.Text.Base64Url.EncodeToString(bytes);

    private static JwtSvidValidation Invalid(string error) => new(null, error);
}
