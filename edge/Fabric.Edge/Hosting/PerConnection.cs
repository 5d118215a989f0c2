using Microsoft.AspNetCore.Connections.Features;

namespace Fabric.Edge.Hosting;

/// <summary>
/// What the edge keeps with a connection rather than a request (the caller's proven identity, the value it forwards for
/// the caller's address, an egress tunnel's target): read and filled through Kestrel's per-connection items, so a
/// request on a kept-alive connection does not redo the connection's work.
/// </summary>
internal static class PerConnection
{
    /// <summary>The value kept under <paramref name="key"/> with the request's connection, when there is one of that type.</summary>
    public static T? Get<T>(HttpContext context, string key) where T : class =>
        context.Features.Get<IConnectionItemsFeature>()?.Items.TryGetValue(key, out var value) == true ? value as T : null;

    /// <summary>
    /// The value kept under <paramref name="key"/>, or <paramref name="create"/>'s, then kept with the connection
    /// (computed each time where the transport has no connection items).
    /// </summary>
    public static T GetOrAdd<T, TState>(HttpContext context, string key, TState state, Func<HttpContext, TState, T> create) where T : class
    {
        var items = context.Features.Get<IConnectionItemsFeature>()?.Items;
        if (items?.TryGetValue(key, out var value) == true && value is T kept)
        {
            return kept;
        }
        var created = create(context, state);
        if (items is not null)
        {
            items[key] = created;
        }
        return created;
    }
}
