using Fabric.Silo.Apis;
using Fabric.Silo.Hosting;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddFabricSilo();
builder.AddFabricApi();

var app = builder.Build();
app.MapDefaultEndpoints();
app.MapFabricApi();
app.Run();

/// <summary>The silo host's entry point, visible to tests.</summary>
public partial class Program;
