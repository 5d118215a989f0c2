using Fabric.Contracts.Identity;

namespace Fabric.Contracts.Grains;

/// <summary>
/// Binds an upstream-minted <c>Mcp-Session-Id</c> to the workload it was minted for
/// (key "server/sessionId"), so that a session id leaked to another workload is refused.
/// </summary>
[Alias("fabric.ISessionBindingGrain")]
public interface ISessionBindingGrain : IGrainWithStringKey
{
    /// <summary>Binds the session to <paramref name="workload"/>; false if it is bound to another.</summary>
    [Alias("Bind")]
    ValueTask<bool> BindAsync(SpiffeId workload);

    /// <summary>The workload the session is bound to, or null when unknown.</summary>
    [Alias("GetOwner")]
    ValueTask<SpiffeId?> GetOwnerAsync();

    [Alias("Forget")]
    ValueTask ForgetAsync();

    public static string KeyFor(string server, string sessionId) => server + "/" + sessionId;
}
