using Fabric.Edge.Hosting;

FabricEdgeApp.Build(args).Run();
