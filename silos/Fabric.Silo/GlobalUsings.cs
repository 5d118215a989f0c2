global using Fabric.Contracts.Grains;
global using Orleans.Runtime;
global using System.Diagnostics.CodeAnalysis;
global using Fabric.Hosting.Links;
