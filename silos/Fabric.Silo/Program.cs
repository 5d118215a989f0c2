using Fabric.Silo.Hosting;

FabricSiloApp.Build(args).Run();
