using Fabric.Silo.Apis;
using Fabric.Silo.Console;

namespace Fabric.Silo.Hosting;

/// <summary>Builds the silo host (silo, management API, health) so tests start the very app <c>Program</c> runs.</summary>
public static class FabricSiloApp
{
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        // The application is the silo, also when a test host starts it: its static web assets (the console's) are found by that name.
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ApplicationName = typeof(FabricSiloApp).Assembly.GetName().Name });
        builder.WebHost.UseStaticWebAssets();
        builder.AddServiceDefaults();
        builder.AddFabricSilo();
        builder.AddFabricApi();
        builder.AddFabricOpenApi();
        builder.AddFabricConsole();
        configure?.Invoke(builder);

        var app = builder.Build();
        app.MapDefaultEndpoints();
        app.MapFabricApi();
        app.MapFabricOpenApi();
        app.MapFabricConsole();
        return app;
    }
}
