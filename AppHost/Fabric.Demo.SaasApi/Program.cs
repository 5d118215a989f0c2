using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

// The demo's "SaaS API": HTTPS on loopback under a CA of its own (written to DemoSaas:CaFile, which the egress
// target's tls.caFile names), so the edge validates it like a real API while no public CA is involved. It answers
// whether an API key arrived, and echoes it — as careless APIs do — to show the edge masking it on the way back.
var builder = WebApplication.CreateSlimBuilder(args);
var caFile = builder.Configuration["DemoSaas:CaFile"] ?? Path.Combine(Path.GetTempPath(), "fabric-demo-saas", "ca.pem");
var certificate = DemoCertificates.Create(caFile);
builder.WebHost.UseKestrelHttpsConfiguration();
builder.WebHost.ConfigureKestrel(kestrel => kestrel.ConfigureHttpsDefaults(https => https.ServerCertificate = certificate));

var app = builder.Build();
app.MapGet("/api/status", (HttpContext context) => Results.Json(new
{
    service = "demo-saas",
    authorized = context.Request.Headers.Authorization.ToString().StartsWith("Bearer ", StringComparison.Ordinal),
    youSentAuthorization = context.Request.Headers.Authorization.ToString(),
}));
app.Run();

internal static class DemoCertificates
{
    /// <summary>A fresh CA (its certificate written to <paramref name="caFile"/>) and a localhost/127.0.0.1 server certificate under it.</summary>
    public static X509Certificate2 Create(string caFile)
    {
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=Fabric demo SaaS CA", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign, true));
        using var ca = caRequest.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(30));
        Directory.CreateDirectory(Path.GetDirectoryName(caFile)!);
        File.WriteAllText(caFile, ca.ExportCertificatePem());

        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName("localhost");
        san.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using var leaf = request.Create(ca, DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddDays(29), RandomNumberGenerator.GetBytes(8));
        return X509CertificateLoader.LoadPkcs12(leaf.CopyWithPrivateKey(key).Export(X509ContentType.Pfx), null);
    }
}
