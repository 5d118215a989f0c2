using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Fabric.Contracts.Identity;

/// <summary>
/// A trust domain's bundle in the SPIFFE format (spiffe/spiffe standards/SPIFFE_Trust_Domain_and_Bundle.md §4): a
/// JWK Set whose keys are X.509 authorities (<c>use: x509-svid</c>, the root in <c>x5c</c>) or JWT authorities
/// (<c>use: jwt-svid</c>, with a <c>kid</c>), plus <c>spiffe_sequence</c> and <c>spiffe_refresh_hint</c> (seconds).
/// Parsing is strict: a document with a key of unknown use, an x509-svid key whose <c>x5c</c> is not exactly one CA
/// certificate, a jwt-svid key without <c>kid</c>, or no authority at all is refused whole, never partly taken.
/// </summary>
public sealed record SpiffeBundle(
    string TrustDomain,
    long Sequence,
    TimeSpan? RefreshHint,
    IReadOnlyList<X509Certificate2> X509Authorities,
    IReadOnlyList<JwtKey> JwtAuthorities)
{
    public const int MaxDocumentBytes = 256 * 1024;
    public const int MaxKeys = 64;

    /// <summary>The X.509 authorities as PEM (what <see cref="TrustBundleSet.FromPem"/> reads).</summary>
    public string X509Pem => string.Concat(X509Authorities.Select(c => c.ExportCertificatePem() + "\n"));

    public string ToJson()
    {
        var keys = new JsonArray();
        foreach (var root in X509Authorities)
        {
            var key = PublicJwk(root.GetECDsaPublicKey()?.ExportSubjectPublicKeyInfo() ?? root.PublicKey.ExportSubjectPublicKeyInfo());
            key["use"] = "x509-svid";
            key["x5c"] = new JsonArray(Convert.ToBase64String(root.RawData));
            keys.Add(key);
        }
        foreach (var jwt in JwtAuthorities)
        {
            var key = PublicJwk(jwt.PublicKey);
            key["use"] = "jwt-svid";
            key["kid"] = jwt.KeyId;
            keys.Add(key);
        }
        var document = new JsonObject { ["keys"] = keys, ["spiffe_sequence"] = Sequence };
        if (RefreshHint is { } hint)
        {
            document["spiffe_refresh_hint"] = (long)hint.TotalSeconds;
        }
        return document.ToJsonString();
    }

    /// <summary>Parses <paramref name="json"/> as the bundle of <paramref name="trustDomain"/>; null with <paramref name="error"/> when it is not one.</summary>
    public static SpiffeBundle? TryParse(string trustDomain, ReadOnlySpan<byte> json, out string? error)
    {
        error = null;
        if (json.Length > MaxDocumentBytes)
        {
            error = $"the bundle document exceeds {MaxDocumentBytes} bytes";
            return null;
        }
        try
        {
            using var document = JsonDocument.Parse(json.ToArray(), new JsonDocumentOptions { MaxDepth = 16 });
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("keys", out var keys) || keys.ValueKind != JsonValueKind.Array)
            {
                error = "not a JWK Set: no keys array";
                return null;
            }
            if (keys.GetArrayLength() is 0 or > MaxKeys)
            {
                error = $"a bundle holds 1 to {MaxKeys} keys";
                return null;
            }
            long sequence = 0;
            if (root.TryGetProperty("spiffe_sequence", out var seq) && (seq.ValueKind != JsonValueKind.Number || !seq.TryGetInt64(out sequence) || sequence < 0))
            {
                error = "spiffe_sequence must be a non-negative integer";
                return null;
            }
            TimeSpan? hint = null;
            if (root.TryGetProperty("spiffe_refresh_hint", out var h))
            {
                if (h.ValueKind != JsonValueKind.Number || !h.TryGetInt64(out var seconds) || seconds < 0)
                {
                    error = "spiffe_refresh_hint must be a non-negative integer (seconds)";
                    return null;
                }
                hint = TimeSpan.FromSeconds(Math.Min(seconds, 86_400 * 365));
            }
            var x509 = new List<X509Certificate2>();
            var jwt = new List<JwtKey>();
            foreach (var key in keys.EnumerateArray())
            {
                var use = key.ValueKind == JsonValueKind.Object && key.TryGetProperty("use", out var u) && u.ValueKind == JsonValueKind.String ? u.GetString() : null;
                switch (use)
                {
                    case "x509-svid":
                        if (!key.TryGetProperty("x5c", out var x5c) || x5c.ValueKind != JsonValueKind.Array || x5c.GetArrayLength() != 1 || x5c[0].ValueKind != JsonValueKind.String)
                        {
                            error = "an x509-svid key needs exactly one certificate in x5c";
                            return null;
                        }
                        var certificate = X509CertificateLoader.LoadCertificate(Convert.FromBase64String(x5c[0].GetString()!));
                        if (certificate.Extensions.OfType<X509BasicConstraintsExtension>().FirstOrDefault() is not { CertificateAuthority: true })
                        {
                            error = "an x509-svid authority must be a CA certificate";
                            return null;
                        }
                        x509.Add(certificate);
                        break;
                    case "jwt-svid":
                        if (!key.TryGetProperty("kid", out var kid) || kid.ValueKind != JsonValueKind.String || kid.GetString() is not { Length: > 0 and <= 256 } keyId)
                        {
                            error = "a jwt-svid key needs a kid";
                            return null;
                        }
                        jwt.Add(new JwtKey(keyId, ImportJwk(key)));
                        break;
                    default:
                        error = $"a key with use '{use}' is not a SPIFFE authority (x509-svid or jwt-svid)";
                        return null;
                }
            }
            return new SpiffeBundle(trustDomain, sequence, hint, x509, jwt);
        }
        catch (Exception ex) when (ex is JsonException or FormatException or CryptographicException or InvalidOperationException or KeyNotFoundException)
        {
            error = "the bundle document is malformed: " + ex.GetType().Name;
            return null;
        }
    }

    private static JsonObject PublicJwk(byte[] subjectPublicKeyInfo)
    {
        try
        {
            using var ec = ECDsa.Create();
            ec.ImportSubjectPublicKeyInfo(subjectPublicKeyInfo, out _);
            var p = ec.ExportParameters(false);
            return new JsonObject
            {
                ["kty"] = "EC",
                ["crv"] = p.Curve.Oid.FriendlyName switch { "nistP256" or "ECDSA_P256" => "P-256", "nistP384" or "ECDSA_P384" => "P-384", _ => "P-521" },
                ["x"] = B64(p.Q.X!),
                ["y"] = B64(p.Q.Y!),
            };
        }
        catch (CryptographicException)
        {
            using var rsa = RSA.Create();
            rsa.ImportSubjectPublicKeyInfo(subjectPublicKeyInfo, out _);
            var p = rsa.ExportParameters(false);
            return new JsonObject { ["kty"] = "RSA", ["n"] = B64(p.Modulus!), ["e"] = B64(p.Exponent!) };
        }
    }

    private static byte[] ImportJwk(JsonElement key)
    {
        string Get(string name) => key.GetProperty(name).GetString() ?? throw new FormatException(name);
        switch (Get("kty"))
        {
            case "EC":
                var curve = Get("crv") switch
                {
                    "P-256" => ECCurve.NamedCurves.nistP256,
                    "P-384" => ECCurve.NamedCurves.nistP384,
                    "P-521" => ECCurve.NamedCurves.nistP521,
                    _ => throw new FormatException("crv"),
                };
                using (var ec = ECDsa.Create(new ECParameters { Curve = curve, Q = new ECPoint { X = Unb64(Get("x")), Y = Unb64(Get("y")) } }))
                {
                    return ec.ExportSubjectPublicKeyInfo();
                }
            case "RSA":
                using (var rsa = RSA.Create(new RSAParameters { Modulus = Unb64(Get("n")), Exponent = Unb64(Get("e")) }))
                {
                    return rsa.ExportSubjectPublicKeyInfo();
                }
            default:
                throw new FormatException("kty");
        }
    }

    private static string B64(byte[] bytes) => System.Buffers.Text.Base64Url.EncodeToString(bytes);

    private static byte[] Unb64(string value) => System.Buffers.Text.Base64Url.DecodeFromChars(value);
}
