using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace Fabric.AppHost.Tests.Fixtures;

/// <summary>
/// Writes the AppHost's logs, resource console output included (Aspire.Hosting.Testing forwards it
/// as <c>Fabric.AppHost.Resources.&lt;name&gt;</c>), to the test's output, which dotnet test prints
/// when the test fails. Lines that arrive after the test ends (shutdown) are dropped: xunit's
/// <see cref="ITestOutputHelper"/> throws once its test is over.
/// </summary>
public sealed class TestOutputLoggerProvider(ITestOutputHelper output) : ILoggerProvider
{
    public ILogger CreateLogger(string categoryName) => new TestOutputLogger(output, categoryName);

    public void Dispose()
    {
    }

    private sealed class TestOutputLogger(ITestOutputHelper output, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel))
            {
                return;
            }
            try
            {
                output.WriteLine($"{DateTime.UtcNow:HH:mm:ss.fff} {logLevel,-11} {category}: {formatter(state, exception)}{(exception is null ? "" : " " + exception)}");
            }
            catch (InvalidOperationException)
            {
                // The test is over; see the type's summary.
            }
        }
    }
}
