global using System.Diagnostics.CodeAnalysis;
global using Orleans.Concurrency;
