using System.Collections.Concurrent;
using System.Collections.Immutable;
using Fabric.Contracts.Identity;
using Microsoft.AspNetCore.Connections;

namespace Fabric.Hosting.Links;

/// <summary>
/// The open Orleans links of one node by peer identity, and the identities it refuses. Refusing an identity
/// takes effect twice: its next handshake fails (<see cref="LinkTls"/> asks <see cref="IsRefused"/>), and
/// every link it already has is aborted at once. A link registered while a refusal lands is checked again
/// after registration, so none slips between the handshake and the sweep.
/// </summary>
public sealed class LinkPeers
{
    private readonly ConcurrentDictionary<ConnectionContext, SpiffeId> _open = new();
    private ImmutableHashSet<SpiffeId> _refused = [];

    public bool IsRefused(SpiffeId id) => Volatile.Read(ref _refused).Contains(id);

    /// <summary>Refuses <paramref name="id"/> from now on and aborts its open links; returns how many were aborted.</summary>
    public int Refuse(SpiffeId id)
    {
        ImmutableInterlocked.Update(ref _refused, set => set.Add(id));
        return AbortOpen(id);
    }

    /// <summary>Replaces nothing: adds every identity of <paramref name="ids"/> to the refused set (a resync).</summary>
    public void RefuseAll(IEnumerable<SpiffeId> ids)
    {
        foreach (var id in ids)
        {
            if (!IsRefused(id))
            {
                Refuse(id);
            }
        }
    }

    /// <summary>How many links <paramref name="id"/> has open now.</summary>
    public int OpenLinks(SpiffeId id) => _open.Count(link => link.Value == id);

    /// <summary>Registers an authenticated link for as long as the returned handle lives.</summary>
    public IDisposable Track(ConnectionContext connection, SpiffeId peer)
    {
        _open[connection] = peer;
        // Registered before the check: a refusal landing now either sees this link in its sweep or is seen here.
        // Either way the link is aborted and unregistered at once, never left counted until its pipes drain.
        if (IsRefused(peer) && _open.TryRemove(connection, out _))
        {
            connection.Abort(new ConnectionAbortedException($"{peer} is refused"));
        }
        return new Registration(this, connection);
    }

    private int AbortOpen(SpiffeId id)
    {
        var aborted = 0;
        foreach (var (connection, peer) in _open)
        {
            // Removed as it is aborted: an aborted link is gone for every purpose, whenever its pipes finish.
            if (peer == id && _open.TryRemove(connection, out _))
            {
                connection.Abort(new ConnectionAbortedException($"{peer} is refused"));
                aborted++;
            }
        }
        return aborted;
    }

    private sealed class Registration(LinkPeers peers, ConnectionContext connection) : IDisposable
    {
        public void Dispose() => peers._open.TryRemove(connection, out _);
    }
}
