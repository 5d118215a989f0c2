using System.Security.Claims;
using Fabric.Silo.Apis;
using Fabric.Silo.Hosting;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.DataProtection;
using MudBlazor.Services;
using Orleans.Dashboard;

namespace Fabric.Silo.Console;

/// <summary>
/// The web console at <c>/console</c> (issue 13 §4) and the Orleans Dashboard at <c>/dashboard</c>, both behind one
/// sign-in: the admin token, typed into a form, becomes an HttpOnly, SameSite=Strict cookie whose ticket (encrypted
/// by Data Protection) carries it; every page reads the fabric through the management API with that token, so the
/// console can do exactly what the token can, and a rotated token ends every console session at its next request.
/// </summary>
public static class ConsoleHosting
{
    public const string Scheme = "FabricConsole";
    public const string Policy = "fabric-console";
    public const string CookieName = "fabric-console";
    public const string LoginPath = "/console/login";
    internal const string TokenClaim = "fabric:admin-token";
    internal const string ApiClientName = "fabric-console-api";

    public static WebApplicationBuilder AddFabricConsole(this WebApplicationBuilder builder)
    {
        builder.Services.AddRazorComponents().AddInteractiveServerComponents();
        builder.Services.AddCascadingAuthenticationState();
        builder.Services.AddMudServices();
        builder.Services.AddDataProtection()
            .SetApplicationName("fabric-console")
            .PersistKeysToFileSystem(new DirectoryInfo(Path.Combine(FabricDataDirectory.Resolve(builder.Configuration), "console-keys")));
        builder.Services.AddOptions<Microsoft.AspNetCore.DataProtection.KeyManagement.KeyManagementOptions>()
            .Configure<Fabric.Silo.Secrets.LocalSecretProtector>((options, protector) => options.XmlEncryptor = new ConsoleKeyEncryptor(protector));
        builder.Services.AddAuthentication().AddCookie(Scheme, options =>
        {
            options.Cookie.Name = CookieName;
            options.Cookie.HttpOnly = true;
            options.Cookie.SameSite = SameSiteMode.Strict;
            options.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            options.Cookie.Path = "/";
            options.ExpireTimeSpan = TimeSpan.FromHours(8);
            options.SlidingExpiration = false;
            options.LoginPath = LoginPath;
            options.AccessDeniedPath = LoginPath;
            options.ReturnUrlParameter = "returnUrl";
            options.Events.OnValidatePrincipal = context =>
            {
                // The ticket is only as good as the token in it: a rotated admin token signs every console out.
                var token = context.HttpContext.RequestServices.GetRequiredService<AdminToken>();
                if (context.Principal?.FindFirst(TokenClaim)?.Value is not { } held || !token.Matches(held))
                {
                    context.RejectPrincipal();
                    return context.HttpContext.SignOutAsync(Scheme);
                }
                return Task.CompletedTask;
            };
        });
        builder.Services.AddAuthorizationBuilder()
            .AddPolicy(Policy, p => p.AddAuthenticationSchemes(Scheme).RequireRole("admin"));
        builder.Services.AddHttpClient(ApiClientName);
        builder.Services.AddScoped<ConsoleApi>();
        return builder;
    }

    /// <summary>The principal a correct admin token signs in as (the token itself travels only inside the encrypted ticket).</summary>
    public static ClaimsPrincipal Principal(string token) =>
        new(new ClaimsIdentity([new Claim(ClaimTypes.Name, "admin"), new Claim(ClaimTypes.Role, "admin"), new Claim(TokenClaim, token)], Scheme));

    public static WebApplication MapFabricConsole(this WebApplication app)
    {
        app.UseWhen(c => IsConsolePath(c.Request.Path), branch => branch.Use((context, next) =>
        {
            // The console is for people, in a browser: it never runs in a frame and loads only what it serves itself.
            var headers = context.Response.Headers;
            headers.ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
                "connect-src 'self'; font-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'self'; object-src 'none'";
            headers.XFrameOptions = "DENY";
            headers.XContentTypeOptions = "nosniff";
            headers["Referrer-Policy"] = "no-referrer";
            return next(context);
        }));
        app.UseAntiforgery();
        app.MapStaticAssets();
        app.MapRazorComponents<App>()
            // The console's own Content-Security-Policy (above) already says frame-ancestors 'none': no second header.
            .AddInteractiveServerRenderMode(o => o.ContentSecurityFrameAncestorsPolicy = null)
            .RequireAuthorization(Policy);
        if (DashboardEnabled(app.Configuration))
        {
            app.MapOrleansDashboard("/dashboard").RequireAuthorization(Policy);
        }
        return app;
    }

    /// <summary><c>Fabric:Console:Dashboard</c> (default true): whether the silo runs and serves the Orleans Dashboard.</summary>
    public static bool DashboardEnabled(IConfiguration configuration) => configuration.GetValue("Fabric:Console:Dashboard", true);

    private static bool IsConsolePath(PathString path) =>
        path.StartsWithSegments("/console") || path.StartsWithSegments("/_blazor") || path.StartsWithSegments("/dashboard");
}
