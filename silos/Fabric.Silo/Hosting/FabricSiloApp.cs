using Fabric.Silo.Apis;

namespace Fabric.Silo.Hosting;

/// <summary>Builds the silo host (silo, management API, health) so tests start the very app <c>Program</c> runs.</summary>
public static class FabricSiloApp
{
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(args);
        builder.AddServiceDefaults();
        builder.AddFabricSilo();
        builder.AddFabricApi();
        builder.AddFabricOpenApi();
        configure?.Invoke(builder);

        var app = builder.Build();
        app.MapDefaultEndpoints();
        app.MapFabricApi();
        app.MapFabricOpenApi();
        return app;
    }
}
