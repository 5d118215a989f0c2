using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Hosting;

namespace Fabric.Hosting;

/// <summary>
/// A Kestrel server of its own inside a host (the silo's bootstrap and https_web bundle endpoints, the edge's egress
/// proxy): its own port and routes, nothing of the host's main API. Derived classes build and start <see cref="App"/>.
/// </summary>
public abstract class OwnListener : IHostedService, IAsyncDisposable
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
        GC.SuppressFinalize(this);
    }
}
