global using System.Diagnostics.CodeAnalysis;
global using Fabric.Contracts.Grains;
global using Fabric.Contracts.Identity;
global using Fabric.Hosting.Links;
