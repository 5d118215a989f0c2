using System.Text.Json;
using Fabric.Contracts.Identity;
using Fabric.Hosting;
using Fabric.Silo.Hosting;
using Microsoft.Extensions.Options;

namespace Fabric.Silo.Bootstrap;

/// <summary>
/// The zero-configuration join (<see cref="BootstrapOptions.LocalJoinFile"/>): keeps one unused, any-name,
/// single-use join token in <c>&lt;data dir&gt;/edge-join.json</c> (0600, replaced atomically), and replaces it
/// as soon as an edge used it, and before it expires. Whoever can read that file can already read the admin
/// token beside it, so it grants nothing the data directory does not.
/// </summary>
internal sealed partial class LocalJoinFile(
    JoinTokenIssuer issuer,
    IOptions<BootstrapOptions> options,
    IConfiguration configuration,
    TimeProvider time,
    ILogger<LocalJoinFile> logger) : IDisposable
{
    public static readonly TimeSpan TokenTtl = TimeSpan.FromHours(24);
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    private readonly SemaphoreSlim _gate = new(1, 1);
    private string? _current;
    private ITimer? _refresh;

    public bool Enabled => options.Value.LocalJoinFile ?? ClusterSettings.Read(configuration).IsLocalhost;

    public string FilePath => Path.Combine(FabricDataDirectory.Resolve(configuration), EdgeBootstrap.LocalJoinFileName);

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (!Enabled)
        {
            return;
        }
        await WriteFreshAsync();
        _refresh = time.CreateTimer(_ => _ = WriteFreshAsync(), null, TokenTtl * 2 / 3, TokenTtl * 2 / 3);
    }

    public async Task OnRedeemedAsync(string tokenId)
    {
        if (Enabled && tokenId == _current)
        {
            await WriteFreshAsync();
        }
    }

    private async Task WriteFreshAsync()
    {
        await _gate.WaitAsync();
        try
        {
            var (_, document) = await issuer.IssueAsync(edgeName: null, TokenTtl);
            PrivateFile.Replace(FilePath, JsonSerializer.Serialize(document, Json));
            _current = document!.TokenId;
            LogWritten(logger, FilePath, document.TokenId);
        }
        catch (Exception ex) when (ClusterCalls.IsClusterFault(ex) || ex is IOException or UnauthorizedAccessException)
        {
            LogFailed(logger, FilePath, ex.Message);
        }
        finally
        {
            _gate.Release();
        }
    }

    public void Dispose()
    {
        _refresh?.Dispose();
        _gate.Dispose();
    }

    [LoggerMessage(EventId = 1433, Level = LogLevel.Information, Message = "Local join token {TokenId} written to {Path}")]
    private static partial void LogWritten(ILogger logger, string path, string tokenId);

    [LoggerMessage(EventId = 1434, Level = LogLevel.Warning, Message = "Writing the local join token to {Path} failed: {Error}")]
    private static partial void LogFailed(ILogger logger, string path, string error);
}
