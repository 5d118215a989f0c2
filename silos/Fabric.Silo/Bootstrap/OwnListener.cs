namespace Fabric.Silo.Bootstrap;

/// <summary>
/// A Kestrel server of its own inside the silo host (the bootstrap endpoint, the https_web bundle endpoint): its own
/// port and routes, nothing of the management API. Derived classes build and start <see cref="App"/>.
/// </summary>
internal abstract class OwnListener : IHostedService, IAsyncDisposable
{
    protected WebApplication? App { get; set; }

    public abstract Task StartAsync(CancellationToken cancellationToken);

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (App is not null)
        {
            await App.StopAsync(cancellationToken);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (App is not null)
        {
            await App.DisposeAsync();
        }
    }
}
