// The demo's "SaaS API": HTTPS on loopback under a CA of its own (written to DemoSaas:CaFile, which the egress
// target's tls.caFile names), so the edge validates it like a real API while no public CA is involved. It answers
// whether an API key arrived, and echoes it — as careless APIs do — to show the edge masking it on the way back.
var builder = WebApplication.CreateSlimBuilder(args);
var caFile = builder.Configuration["DemoSaas:CaFile"] ?? Path.Combine(Path.GetTempPath(), "fabric-demo-saas", "ca.pem");
var certificate = DemoCertificates.Create(caFile, "CN=Fabric demo SaaS CA", "CN=localhost", TimeSpan.FromDays(30));
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
