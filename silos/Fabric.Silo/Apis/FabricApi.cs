using Fabric.Hosting;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Authentication;

namespace Fabric.Silo.Apis;

/// <summary>The management API: <c>/v1/…</c>, admin-authenticated except the public trust bundle.</summary>
public static class FabricApi
{
    public static WebApplicationBuilder AddFabricApi(this WebApplicationBuilder builder)
    {
        builder.Services.AddProblemDetails();
        builder.Services.ConfigureHttpJsonOptions(o => ConfigureJson(o.SerializerOptions));
        builder.Services.AddSingleton(sp => AdminToken.FromConfiguration(sp.GetRequiredService<IConfiguration>()));
        builder.Services.AddAuthentication(AdminAuthenticationHandler.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, AdminAuthenticationHandler>(AdminAuthenticationHandler.SchemeName, null);
        builder.Services.AddAuthorizationBuilder()
            .AddPolicy(AdminPolicy, p => p.AddAuthenticationSchemes(AdminAuthenticationHandler.SchemeName).RequireRole("admin"));
        builder.Services.AddHostedService<AdminTokenAnnouncer>();
        builder.Services.AddSingleton(sp => new ClusterCalls(
            ClusterSettings.Read(sp.GetRequiredService<IConfiguration>()).CallRetryBudget,
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<ClusterCalls>>()));
        return builder;
    }

    public const string AdminPolicy = "fabric-admin";

    /// <summary>The JSON rules of every body the silo host reads or writes (management API and bootstrap endpoint).</summary>
    public static void ConfigureJson(JsonSerializerOptions options)
    {
        options.PropertyNamingPolicy = JsonNamingPolicy.CamelCase;
        options.DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull;
        options.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.CamelCase, allowIntegerValues: false));
        // Web defaults read "3600" as a number; a body's types are its contract (issue 9 §8).
        options.NumberHandling = JsonNumberHandling.Strict;
        // RFC 8259 §4: with duplicate names "the behavior of software ... is unpredictable"; refuse them.
        options.AllowDuplicateProperties = false;
    }

    public static WebApplication MapFabricApi(this WebApplication app)
    {
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseAuthentication();
        app.UseAuthorization();

        var admin = app.MapGroup("/v1").RequireAuthorization(AdminPolicy).AddEndpointFilter<ClusterCallFilter>();
        admin.MapSecretsApi();
        admin.MapServersApi();
        admin.MapEgressApi();
        admin.MapToolLockApi();
        admin.MapApprovalsApi();
        admin.MapPoliciesApi();
        admin.MapReplayApi();
        admin.MapPostureApi();
        admin.MapWorkloadsApi();
        admin.MapStatusApi();
        admin.MapSvidsApi();
        admin.MapEdgesApi();
        admin.MapCaApi();
        admin.MapFederationApi();
        admin.MapDecisionsApi();
        admin.MapAuditApi();
        app.MapGroup("/v1").AddEndpointFilter<ClusterCallFilter>().MapBundleApi();
        return app;
    }
}
