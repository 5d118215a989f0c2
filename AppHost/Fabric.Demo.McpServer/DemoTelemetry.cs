namespace Fabric.Demo.McpServer;

internal static class DemoTelemetry
{
    /// <summary>The ActivitySource and Meter name the ModelContextProtocol SDK 2.4.0 reports under.</summary>
    public const string McpSdkSource = "Experimental.ModelContextProtocol";
}
