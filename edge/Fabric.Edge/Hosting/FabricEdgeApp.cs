namespace Fabric.Edge.Hosting;

/// <summary>Builds the edge host so tests start the very app <c>Program</c> runs.</summary>
public static class FabricEdgeApp
{
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(args);
        builder.AddServiceDefaults();
        builder.AddFabricEdge();
        configure?.Invoke(builder);

        var app = builder.Build();
        app.MapDefaultEndpoints();
        app.MapFabricEdge();
        return app;
    }
}
